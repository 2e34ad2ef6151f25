"""The local backfill machinery the `screener backfill` commands and the demo share.

``LocalFunction`` runs the template's BackfillFunction here (queue and DLQ created as the
template declares them, the local event source mapping, fresh worker processes); ``seed_body``
and ``new_run_id`` build a run's seed message; ``ProgressBar``, ``print_stats`` and
``write_report`` follow and report it.
"""
from __future__ import annotations

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

from .invoke import LOCAL_MODEL_DIR, ROOT, lambda_environment
from .template import load_template, resolve_function, resolve_resource

FUNCTION, QUEUE, DLQ = "BackfillFunction", "BackfillQueue", "BackfillDeadLetterQueue"
LOCAL_QUEUE_NAMES = {QUEUE: "backfill", DLQ: "backfill-dlq"}


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

    def __init__(self, reader: Any, stream=None, width: int = 30):
        # sys.stderr looked up per bar, not bound at import: it may be replaced since (pytest).
        self.reader, self.stream, self.width = reader, stream or sys.stderr, width
        self.t0 = time.monotonic()
        self.tty = self.stream.isatty()
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
def print_stats(stats: list[dict]) -> None:
    inv = sum(s.get("invocations", 0) for s in stats)
    failed = sum(s.get("failed", 0) for s in stats)
    print(f"local function: {len(stats)} environment(s), {inv} invocations, {failed} message failure(s) retried; "
          f"cold starts {', '.join(str(round(s.get('init_ms', 0))) + ' ms' for s in stats)}", file=sys.stderr)
