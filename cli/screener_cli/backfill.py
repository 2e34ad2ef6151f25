"""`screener backfill start|worker|status|report|demo`: run and follow a catalog backfill.

- ``start`` validates and sends the seed message to the backfill queue (``--queue-url``, or
  ``BACKFILL_QUEUE_URL``). With ``--local`` it also runs the BackfillFunction here: the local
  SQS event source mapping (local_esm.py) polls the queue and invokes the real handler in
  ``--concurrency`` fresh processes with the template's environment, while a progress bar
  follows the run. Against an embedded endpoint (AWS_ENDPOINT_URL) it creates the queue and DLQ
  from the template's settings first.
- ``worker`` runs the local function on an existing queue (resuming an interrupted local run).
- ``status RUN_ID`` shows done out of listed, by verdict; ``report RUN_ID`` writes the CSV, the
  summary and the HTML page (thumbnails of the photos needing review, a verdict chart).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .invoke import LOCAL_MODEL_DIR, ROOT, lambda_environment, parse_overrides
from .template import load_template, resolve_function, resolve_resource

FUNCTION, QUEUE, DLQ = "BackfillFunction", "BackfillQueue", "BackfillDeadLetterQueue"
LOCAL_QUEUE_NAMES = {QUEUE: "backfill", DLQ: "backfill-dlq"}


def _objects():
    from screener.deps import s3_client
    from screener.s3_objects import S3Objects

    return S3Objects(s3_client(os.environ, max_pool_connections=16))


def _sqs():
    import boto3

    return boto3.client("sqs")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def seed_body(bucket: str, prefix: str, mode: str, run_id: str, force: bool, inventory: str | None = None) -> str:
    """The seed message, validated with the function's own parser (the allow-list is the
    function's business: here only the shape and the prefixes are checked)."""
    from screener.backfill.messages import Rules, encode, parse_message
    from screener.config import load_config

    p = load_config(os.environ).prefixes
    rules = Rules(buckets=frozenset({bucket}), move_sources=(p.incoming,), move_destinations=(p.approved, p.review))
    seed = {"bucket": bucket, "prefix": prefix, "mode": mode, "run_id": run_id, "force": force}
    if inventory:
        seed["inventory"] = inventory
    body = json.dumps(seed)
    return encode(parse_message(body, rules))


# -- the local function ------------------------------------------------------------------------
@dataclass
class LocalFunction:
    """The BackfillFunction as the template describes it, run behind the local ESM."""

    template: Path = ROOT / "template.yaml"
    overrides: Mapping[str, str] = field(default_factory=dict)
    model_dir: Path = LOCAL_MODEL_DIR
    concurrency: int = 1
    visibility_timeout: int | None = None  # None: the template's
    allow_buckets: tuple[str, ...] = ()  # local only: buckets added to the template's allow-list
    log: Path = ROOT / ".demo" / "backfill.log"

    def _tpl(self) -> dict:
        return load_template(self.template)

    def ensure_queues(self, sqs: Any) -> tuple[str, str]:
        """Create the queue and its DLQ as the template declares them (on an embedded endpoint)."""
        tpl = self._tpl()
        qprops = resolve_resource(tpl, QUEUE, self.overrides)
        dlq = sqs.create_queue(QueueName=LOCAL_QUEUE_NAMES[DLQ])["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        vis = self.visibility_timeout if self.visibility_timeout is not None else int(qprops["VisibilityTimeout"])
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(qprops["RedrivePolicy"]["maxReceiveCount"])}
        url = sqs.create_queue(QueueName=LOCAL_QUEUE_NAMES[QUEUE], Attributes={
            "VisibilityTimeout": str(vis), "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
        return url, dlq

    def run(self, queue_url: str, dlq_url: str | None, max_seconds: float = 3600,
            on_tick: Callable[[], None] | None = None) -> list[dict]:
        """Start ``concurrency`` execution environments; return their stats when the queue is drained."""
        tpl = self._tpl()
        region = os.environ.get("AWS_REGION", "us-east-1")
        spec = resolve_function(tpl, FUNCTION, self.overrides, root=self.template.parent, region=region)
        (event,) = [e for e in spec.events.values() if e.get("Type") == "SQS"]
        props = event["Properties"]
        max_conc = int(props.get("ScalingConfig", {}).get("MaximumConcurrency", self.concurrency))
        env = lambda_environment(spec, self.model_dir.resolve(), os.environ)
        # Queue URLs are resource references the template cannot resolve locally.
        env.update({"BACKFILL_QUEUE_URL": queue_url, "BACKFILL_DLQ_URL": dlq_url or ""})
        if self.allow_buckets:
            env["BACKFILL_BUCKETS"] = ",".join([env.get("BACKFILL_BUCKETS", ""), *self.allow_buckets]).strip(",")
        esm = {
            "batch_size": int(props.get("BatchSize", 10)),
            "batching_window_s": float(props.get("MaximumBatchingWindowInSeconds", 0)),
            "report_batch_item_failures": "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            "function_timeout_s": float(spec.timeout),
            "function_name": spec.name,
            "memory_mb": spec.memory,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="screener-esm-") as tmp, open(self.log, "a", encoding="utf-8") as log:
            procs = []
            for i in range(max(1, min(self.concurrency, max_conc))):
                stats = Path(tmp) / f"stats-{i}.json"
                spec_file = Path(tmp) / f"spec-{i}.json"
                spec_file.write_text(json.dumps({
                    "code_dir": str(spec.code_dir.resolve()), "layer_dirs": [str(d.resolve()) for d in spec.layer_dirs],
                    "handler": spec.handler, "queue_url": queue_url, "esm": esm, "max_seconds": max_seconds,
                    "stats": str(stats),
                }))
                p = subprocess.Popen([sys.executable, "-m", "screener_cli.esm_runner", str(spec_file)], env=env,
                                     stdout=log, stderr=log, cwd=str(spec.code_dir.resolve()))
                procs.append((p, stats))
            try:
                while any(p.poll() is None for p, _ in procs):
                    if on_tick:
                        on_tick()
                    time.sleep(0.5)
            finally:
                for p, _ in procs:
                    if p.poll() is None:
                        p.terminate()
                        p.wait(timeout=30)
            if on_tick:
                on_tick()
            return [json.loads(s.read_text()) if s.exists() else {"error": f"exit {p.returncode}"} for p, s in procs]


class ProgressBar:
    """One line, redrawn in place on a terminal (a line every few seconds otherwise)."""

    def __init__(self, reader: Any, stream=sys.stderr, width: int = 30):
        self.reader, self.stream, self.width = reader, stream, width
        self.t0 = time.monotonic()
        self.tty = stream.isatty()
        self._last_line = 0.0
        self.last = None

    def tick(self) -> None:
        try:
            p = self.reader.progress()
        except Exception:  # noqa: BLE001 - a transient read error must not stop the run
            return
        self.last = p
        elapsed = time.monotonic() - self.t0
        total = max(p.listed, 1)
        filled = int(self.width * min(p.done / total, 1.0))
        verdicts = " ".join(f"{k} {v}" for k, v in sorted(p.by_verdict.items()))
        listed = f"{p.listed}{'' if p.listing_complete else '+'}"
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {p.done}/{listed} "
                f"{p.done / elapsed if elapsed > 0 else 0:5.1f}/s {verdicts} {elapsed:4.0f}s")
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
            self.stream.flush()
        elif time.monotonic() - self._last_line > 5:
            self.stream.write(line + "\n")
            self._last_line = time.monotonic()

    def close(self) -> None:
        self.tick()
        if self.tty:
            self.stream.write("\n")


# -- reports -----------------------------------------------------------------------------------
def write_report(objects: Any, bucket: str, run_id: str, out: Path, max_thumbnails: int = 200) -> Any:
    from screener.backfill.report import aggregate, summary_text, to_csv, to_html
    from screener.backfill.runs import RunReader
    from screener.backfill.thumbs import thumbnail_data_uri

    reader = RunReader(objects, bucket, run_id)
    reader.refresh()
    rows = reader.results()
    summary = aggregate(run_id, rows)
    review = sorted((r for r in {r.key: r for r in rows}.values() if r.verdict == "review"), key=lambda r: r.key)

    def thumb(r) -> tuple[str, str | None]:
        data = objects.get_bytes(bucket, r.destination or r.key)
        return r.key, thumbnail_data_uri(data) if data else None

    with ThreadPoolExecutor(8) as pool:
        thumbs = {k: v for k, v in pool.map(thumb, review[:max_thumbnails]) if v}
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.csv").write_text(to_csv(rows), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2), encoding="utf-8")
    (out / "summary.txt").write_text(summary_text(summary) + "\n", encoding="utf-8")
    (out / "index.html").write_text(to_html(summary, review[:max_thumbnails], thumbs), encoding="utf-8")
    return summary


# -- commands ----------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backfill", help="screen the existing catalog through the SQS backfill")
    bsub = p.add_subparsers(dest="backfill_command", required=True, metavar="SUBCOMMAND")

    def local_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--concurrency", type=int, default=1, help="local execution environments (processes)")
        q.add_argument("--template", "-t", default=str(ROOT / "template.yaml"))
        q.add_argument("--parameter-overrides", nargs="+", default=[], metavar="KEY=VALUE")
        q.add_argument("--model-dir", default=str(LOCAL_MODEL_DIR))
        q.add_argument("--visibility-timeout", type=int, help="local queue's visibility timeout (default: the template's)")
        q.add_argument("--allow-bucket", action="append", default=[], help="local only: add a bucket to the allow-list")
        q.add_argument("--log", default=str(ROOT / ".demo" / "backfill.log"))
        q.add_argument("--max-seconds", type=float, default=3600)

    s = bsub.add_parser("start", help="send a seed message (and with --local, run the function here)")
    s.add_argument("--bucket", required=True)
    s.add_argument("--prefix", default="")
    s.add_argument("--mode", choices=("tag", "move"), default="tag")
    s.add_argument("--force", action="store_true", help="re-screen objects this model version already tagged")
    s.add_argument("--run-id", default=None)
    s.add_argument("--inventory", metavar="KEY", help="start from this S3 Inventory manifest.json (CSV, in the same bucket)")
    s.add_argument("--queue-url", default=os.environ.get("BACKFILL_QUEUE_URL"))
    s.add_argument("--local", action="store_true", help="run BackfillFunction locally behind the local SQS event source")
    local_args(s)
    s.set_defaults(run=cmd_start)

    w = bsub.add_parser("worker", help="run BackfillFunction locally on an existing queue until it is drained")
    w.add_argument("--queue-url", default=os.environ.get("BACKFILL_QUEUE_URL"), required=not os.environ.get("BACKFILL_QUEUE_URL"))
    w.add_argument("--bucket", help="with --run-id: show a progress bar")
    w.add_argument("--run-id")
    local_args(w)
    w.set_defaults(run=cmd_worker)

    st = bsub.add_parser("status", help="progress of a run: done out of listed, by verdict")
    st.add_argument("run_id")
    st.add_argument("--bucket", required=True)
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=cmd_status)

    r = bsub.add_parser("report", help="CSV, summary and HTML page for a run")
    r.add_argument("run_id")
    r.add_argument("--bucket", required=True)
    r.add_argument("--out", help="directory (default backfill-report-RUN_ID)")
    r.add_argument("--max-thumbnails", type=int, default=200)
    r.set_defaults(run=cmd_report)

    d = bsub.add_parser("demo", help="backfill a few thousand generated photos on an embedded S3 + SQS")
    d.add_argument("--objects", type=int, default=2000)
    d.add_argument("--distinct", type=int, default=40, help="distinct photos rendered (reused under many keys)")
    d.add_argument("--concurrency", type=int, default=2)
    d.add_argument("--model-dir", default=str(LOCAL_MODEL_DIR))
    d.add_argument("--out", default=str(ROOT / ".demo" / "backfill-report"))
    d.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    # Imported when run: the demo builds on this module, so a top-level import would be circular.
    from .backfill_demo import run

    return run(args)


def _local(args: argparse.Namespace) -> LocalFunction:
    return LocalFunction(template=Path(args.template), overrides=parse_overrides(args.parameter_overrides),
                         model_dir=Path(args.model_dir), concurrency=args.concurrency,
                         visibility_timeout=args.visibility_timeout, allow_buckets=tuple(args.allow_bucket),
                         log=Path(args.log))


def _print_stats(stats: list[dict]) -> None:
    inv = sum(s.get("invocations", 0) for s in stats)
    failed = sum(s.get("failed", 0) for s in stats)
    print(f"local function: {len(stats)} environment(s), {inv} invocations, {failed} message failure(s) retried; "
          f"cold starts {', '.join(str(round(s.get('init_ms', 0))) + ' ms' for s in stats)}", file=sys.stderr)


def cmd_start(args: argparse.Namespace) -> int:
    from screener.backfill.runs import RunReader

    from screener.backfill.messages import MessageError

    run_id = args.run_id or new_run_id()
    try:
        body = seed_body(args.bucket, args.prefix, args.mode, run_id, args.force, args.inventory)
    except MessageError as e:
        print(f"screener backfill start: {e}", file=sys.stderr)
        return 2
    objects = _objects()
    reader = RunReader(objects, args.bucket, run_id)
    if reader.exists():
        print(f"run {run_id!r} already exists in s3://{args.bucket}/reports/backfill/: choose another --run-id "
              "(objects already screened by this model are skipped, so a new run resumes cheaply)", file=sys.stderr)
        return 2
    sqs = _sqs()
    local = _local(args) if args.local else None
    queue_url, dlq_url = args.queue_url, None
    if local and not queue_url:
        if not os.environ.get("AWS_ENDPOINT_URL"):
            print("--local needs --queue-url, or AWS_ENDPOINT_URL (an embedded SQS) to create the queue on", file=sys.stderr)
            return 2
        queue_url, dlq_url = local.ensure_queues(sqs)
    if not queue_url:
        print("no queue: pass --queue-url (the stack output BackfillQueueUrl) or set BACKFILL_QUEUE_URL", file=sys.stderr)
        return 2
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    print(f"run {run_id}: seed sent to {queue_url}")
    if not local:
        print(f"follow it with: screener backfill status {run_id} --bucket {args.bucket}")
        return 0
    return _run_local(local, sqs, queue_url, dlq_url, objects, args.bucket, run_id, args.max_seconds)


def _run_local(local: LocalFunction, sqs: Any, queue_url: str, dlq_url: str | None, objects: Any, bucket: str | None,
               run_id: str | None, max_seconds: float) -> int:
    from screener.backfill.runs import RunReader

    if dlq_url is None:
        from screener_cli.local_esm import describe_queue

        dlq_url = describe_queue(sqs, queue_url).dlq_url
    bar = ProgressBar(RunReader(objects, bucket, run_id)) if bucket and run_id else None
    t0 = time.monotonic()
    stats = local.run(queue_url, dlq_url, max_seconds, on_tick=bar.tick if bar else None)
    if bar:
        bar.close()
    _print_stats(stats)
    if bar and bar.last is not None:
        p = bar.last
        print(f"run {run_id}: {p.done}/{p.listed} objects in {time.monotonic() - t0:.1f} s; "
              f"{json.dumps(dict(p.by_verdict))}; logs in {os.path.relpath(local.log)}")
        return 0 if p.finished else 1
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    return _run_local(_local(args), _sqs(), args.queue_url, None, _objects(), args.bucket, args.run_id, args.max_seconds)


def cmd_status(args: argparse.Namespace) -> int:
    from screener.backfill.runs import RunReader

    reader = RunReader(_objects(), args.bucket, args.run_id)
    if not reader.exists():
        print(f"no run {args.run_id!r} in s3://{args.bucket}/reports/backfill/", file=sys.stderr)
        return 2
    p = reader.progress()
    if args.json:
        print(json.dumps({"run_id": args.run_id, "listed": p.listed, "done": p.done, "pages": p.pages,
                          "listing_complete": p.listing_complete, "finished": p.finished,
                          "by_verdict": dict(p.by_verdict), "by_status": dict(p.by_status)}))
        return 0
    state = "finished" if p.finished else ("listing complete" if p.listing_complete else "listing")
    print(f"run {args.run_id}: {p.done} done out of {p.listed} listed ({p.pages} pages, {state})")
    for k, v in sorted(p.by_verdict.items()):
        print(f"  {k:<10} {v}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from screener.backfill.report import summary_text

    out = Path(args.out or f"backfill-report-{args.run_id}")
    summary = write_report(_objects(), args.bucket, args.run_id, out, args.max_thumbnails)
    print(summary_text(summary))
    print(f"\nwrote {out}/report.csv, summary.json, summary.txt and index.html")
    return 0
