"""`screener backfill demo` (`make backfill-demo`): a catalog backfill on this machine, no AWS, no Docker.

Starts moto's S3 and SQS server on 127.0.0.1, fills the stack's bucket (named as the template
resolves it locally, so the template's allow-list applies unchanged) with a few thousand catalog
photos - a few hundred distinct renders of the synthetic catalog (model_build.synth, held-out
split) reused under many SKU keys, plus a few bad inputs - creates the queue and DLQ from the
template, sends one seed message and runs BackfillFunction behind the local SQS event source
mapping with a progress bar. Then it writes and prints the report.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from .backfill_local import FUNCTION, LocalFunction, ProgressBar, new_run_id, print_stats, seed_body, write_report
from .invoke import ROOT
from .template import load_template, resolve_function

PREFIX = "catalog/"
DEPARTMENTS = ("living-room", "bedroom", "dining", "office", "outdoor", "lighting")


def _render(index: int) -> bytes:
    from model_build.synth import encode, render_sample

    return encode(render_sample(index, 7, "heldout_shift"))


def catalog(n_objects: int, n_distinct: int) -> list[tuple[str, bytes, str]]:
    """(key, bytes, content type): distinct renders reused under many SKU keys, plus bad inputs."""
    from .samples import bad_inputs

    t0 = time.perf_counter()
    with ProcessPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
        photos = list(pool.map(_render, range(n_distinct), chunksize=8))
    print(f"rendered {n_distinct} distinct catalog photos in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    bad = [(name, data, ctype) for name, (data, ctype) in bad_inputs(20 * 1024 * 1024).items()]
    out = []
    for i in range(n_objects - len(bad)):
        data = photos[(i * 7919) % n_distinct]  # a stride, so neighbouring SKUs differ
        ctype = "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"
        ext = "jpg" if ctype == "image/jpeg" else "png"
        out.append((f"{PREFIX}{DEPARTMENTS[i % len(DEPARTMENTS)]}/SKU-{100000 + i}.{ext}", data, ctype))
    out += [(f"{PREFIX}vendor-uploads/{name}", data, ctype) for name, data, ctype in bad]
    return out


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model_dir)
    if not (model_dir / "manifest.json").is_file():
        print(f"screener backfill demo: no model at {model_dir} (manifest.json missing).\n"
              "  The demo screens with the real model only: build it with `make model` (or pass --model-dir).",
              file=sys.stderr)
        return 2
    import boto3
    from moto.server import ThreadedMotoServer

    from screener.backfill.report import summary_text
    from screener.backfill.runs import RunReader
    from screener.deps import s3_client
    from screener.s3_objects import S3Objects

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        os.environ.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "demo",
                           "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
        os.environ.pop("AWS_PROFILE", None)
        bucket = resolve_function(load_template(ROOT / "template.yaml"), FUNCTION, root=ROOT).environment["BACKFILL_BUCKETS"]
        s3 = s3_client(os.environ, max_pool_connections=16)
        s3.create_bucket(Bucket=bucket)
        print(f"embedded S3 + SQS (moto) on {os.environ['AWS_ENDPOINT_URL']}, bucket {bucket}")
        objects = catalog(args.objects, args.distinct)
        t0 = time.perf_counter()

        def put(i_obj):
            i, (key, data, ctype) = i_obj
            tagging = "uploader=studio-4" if i % 3 else "uploader=vendor-portal&campaign=spring"
            s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=ctype, Tagging=tagging)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, enumerate(objects)))
        size_mb = sum(len(d) for _, d, _ in objects) / 1e6
        print(f"uploaded {len(objects)} objects ({size_mb:.0f} MB) under {PREFIX} in {time.perf_counter() - t0:.1f} s")

        run_id = new_run_id()
        # The template's visibility timeout (6x the function timeout): a shorter one would let a
        # batch still running on this loaded machine reappear and be processed twice.
        local = LocalFunction(model_dir=model_dir, concurrency=args.concurrency, log=ROOT / ".demo" / "backfill.log")
        local.log.parent.mkdir(parents=True, exist_ok=True)
        local.log.write_text("")
        sqs = boto3.client("sqs")
        queue_url, dlq_url = local.ensure_queues(sqs)
        sqs.send_message(QueueUrl=queue_url, MessageBody=seed_body(bucket, PREFIX, "tag", run_id, False))
        print(f"run {run_id}: one seed message on {queue_url}; BackfillFunction x{args.concurrency} behind the local SQS "
              f"event source (batch size, window and timeout from template.yaml)")
        store = S3Objects(s3)
        bar = ProgressBar(RunReader(store, bucket, run_id))
        t0 = time.perf_counter()
        stats = local.run(queue_url, dlq_url, max_seconds=1800, on_tick=bar.tick)
        wall = time.perf_counter() - t0
        bar.close()
        print_stats(stats)
        p = bar.last
        print(f"backfilled {p.done}/{p.listed} objects in {wall:.1f} s ({p.done / wall:.1f} objects/s end to end, "
              f"{args.concurrency} local environment(s)); logs in {os.path.relpath(local.log)}\n")
        out = Path(args.out)
        summary = write_report(store, bucket, run_id, out)
        print(summary_text(summary))
        dead = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        n_dead = int(dead["Attributes"]["ApproximateNumberOfMessages"])
        print(f"\nreport: {os.path.relpath(out)}/index.html (+ report.csv, summary.json); DLQ holds {n_dead} message(s)")
        ok = p.finished and p.done == len(objects) and n_dead == 0
        print(f"OK: all {len(objects)} objects screened and tagged, none in the DLQ" if ok else "FAILED: see above")
        return 0 if ok else 1
    finally:
        server.stop()
