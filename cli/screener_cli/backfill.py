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
import sys
import time
from pathlib import Path
from typing import Any

from .backfill_demo import run as run_demo
from .backfill_local import LocalFunction, ProgressBar, new_run_id, print_stats, seed_body, write_report
from .invoke import LOCAL_MODEL_DIR, ROOT, parse_overrides


def _objects():
    from screener.deps import s3_client
    from screener.s3_objects import S3Objects

    return S3Objects(s3_client(os.environ, max_pool_connections=16))


def _sqs():
    import boto3

    return boto3.client("sqs")


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
    d.set_defaults(run=run_demo)


def _local(args: argparse.Namespace) -> LocalFunction:
    return LocalFunction(template=Path(args.template), overrides=parse_overrides(args.parameter_overrides),
                         model_dir=Path(args.model_dir), concurrency=args.concurrency,
                         visibility_timeout=args.visibility_timeout, allow_buckets=tuple(args.allow_bucket),
                         log=Path(args.log))


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
    print_stats(stats)
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
