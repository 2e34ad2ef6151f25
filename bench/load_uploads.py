"""Load: N uploads screened by W concurrent handler invocations against moto server on loopback.

    python -m bench.load_uploads [--objects 1000] [--workers 16] [--tiny] [--json PATH]

Every worker thread is one Lambda container: its own import of functions/upload/app.py, its own
model session and S3 client, built from the template's environment exactly as ``screener
invoke`` builds it, talking HTTP to a ThreadedMotoServer on 127.0.0.1. The uploads (catalog-size
photos, plus one bad input in ten: HTML, zero bytes, a truncated JPEG, a thumbnail) go to
incoming/ first; then one S3 event per object, as S3 sends them, is delivered to whichever
container is free. At the end the bucket is checked object by object: nothing left in incoming/,
each upload in exactly one of approved/ and review/ with its own bytes (ETag), nothing else.

Prints objects/s (screening phase, wall clock) and handler latency p50/p95/max. Threads share
this machine's cores and Python's GIL, so latency under load here is an upper bound on one
container's; the throughput is what this machine sustains, not what Lambda would.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import queue
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "functions" / "upload" / "app.py"
BUCKET = "load-test-photos"
LOG = ROOT / ".cache" / "bench" / "load_uploads.log"


@dataclass(frozen=True)
class Figures:
    objects: int
    workers: int
    model: str
    upload_s: float
    screen_s: float
    objects_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    approved: int
    review: int
    failed_invocations: int
    problems: tuple[str, ...]  # objects lost, duplicated or changed; empty when all is well


def _inputs(n: int, tiny: bool) -> list[tuple[str, bytes, str]]:
    """(key, bytes, content type): photos, and one bad input in ten."""
    from bench.images import photo
    from tests.fixtures import images

    side = 256 if tiny else 1200
    photos = [photo("JPEG", side, i).data for i in range(8)]
    good = images.good_jpeg()
    bad = [(b"<html><body>not a photo</body></html>", "text/html"), (b"", "image/jpeg"),
           (good[: len(good) // 2], "image/jpeg"), (images.encode(images.product((120, 120)), "PNG"), "image/png")]
    out = []
    for i in range(n):
        if i % 10 == 9:
            data, ctype = bad[(i // 10) % len(bad)]
            out.append((f"incoming/load/bad {i:05d}.jpg", data, ctype))
        else:
            out.append((f"incoming/load/sku {i:05d} ünïcode+plus.jpg", photos[i % len(photos)], "image/jpeg"))
    return out


def _container(n: int) -> Any:
    spec = importlib.util.spec_from_file_location(f"upload_app_load_{n}", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.dependencies()  # the cold start, outside the measured invocations
    return module


class _Ctx:
    function_name = "UploadFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:UploadFunction"
    aws_request_id = "load"


def run(objects: int = 1000, workers: int = 16, tiny: bool = False, model_dir: Path | None = None,
        log: Path = LOG) -> Figures:
    import boto3
    from moto.server import ThreadedMotoServer

    from bench.models import resolve
    from screener_cli.invoke import lambda_environment
    from screener_cli.s3_events import object_created, s3_event
    from screener_cli.template import load_template, resolve_function

    models = resolve(model_dir, tiny=tiny)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    saved_env = dict(os.environ)
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        spec = resolve_function(load_template(ROOT / "template.yaml"), "UploadFunction", root=ROOT)
        creds = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "load", "AWS_SECRET_ACCESS_KEY": "load",
                 "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
        os.environ.update(lambda_environment(spec, models.model_dir, {**os.environ, **creds}))
        os.environ.pop("AWS_PROFILE", None)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)

        uploads = _inputs(objects, tiny)
        t0 = time.perf_counter()
        etags: dict[str, str] = {}
        events = []
        with ThreadPoolExecutor(8) as pool:
            puts = pool.map(lambda u: s3.put_object(Bucket=BUCKET, Key=u[0], Body=u[1], ContentType=u[2]), uploads)
            for seq, ((key, data, _), r) in enumerate(zip(uploads, puts)):
                etags[key] = r["ETag"]
                events.append(s3_event(object_created(BUCKET, key, len(data), r["ETag"], seq=seq)))
        upload_s = time.perf_counter() - t0

        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as sink, contextlib.redirect_stdout(sink):  # handler logs and EMF metrics
            containers = [_container(i) for i in range(workers)]  # built on one thread (boto3)
            todo: queue.Queue = queue.Queue()
            for e in events:
                todo.put(e)
            latencies: list[float] = []
            failures: list[str] = []
            verdicts = {"approved": 0, "review": 0}
            lock = threading.Lock()

            def worker(app: Any) -> None:
                while True:
                    try:
                        event = todo.get_nowait()
                    except queue.Empty:
                        return
                    t = time.perf_counter()
                    try:
                        out = app.lambda_handler(event, _Ctx())
                    except Exception as e:  # noqa: BLE001 - counted, and the bucket check finds the object
                        with lock:
                            failures.append(f"{type(e).__name__}: {e}")
                        continue
                    ms = (time.perf_counter() - t) * 1000
                    with lock:
                        latencies.append(ms)
                        for r in out["records"]:
                            if r.get("verdict") in verdicts:
                                verdicts[r["verdict"]] += 1

            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(app,)) for app in containers]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            screen_s = time.perf_counter() - t0
        problems = _check(s3, etags)
        q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
        return Figures(objects, workers, f"{models.source}", round(upload_s, 2), round(screen_s, 2),
                       round(objects / screen_s, 1), round(q[49], 1), round(q[94], 1),
                       round(max(latencies, default=0.0), 1), verdicts["approved"], verdicts["review"],
                       len(failures), tuple(problems))
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        server.stop()


def _check(s3: Any, etags: dict[str, str]) -> list[str]:
    """Every upload in exactly one of approved/ and review/, with its own bytes; nothing else."""
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        found.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
    problems = [f"left in incoming/: {k}" for k in found if k.startswith("incoming/")]
    expected = set()
    for key, etag in etags.items():
        rest = key.removeprefix("incoming/")
        where = [p + rest for p in ("approved/", "review/") if p + rest in found]
        expected.update(where)
        if len(where) != 1:
            problems.append(f"{key}: in {where or 'neither approved/ nor review/'}")
        elif found[where[0]] != etag:
            problems.append(f"{key}: {where[0]} holds other bytes")
    problems += [f"unexpected object: {k}" for k in set(found) - expected if not k.startswith("incoming/")]
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load_uploads", description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=1000)
    p.add_argument("--workers", type=int, default=16, help="concurrent handler invocations (containers)")
    p.add_argument("--tiny", action="store_true", help="the test fixture's tiny model and small photos")
    p.add_argument("--model-dir", type=Path)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    f = run(args.objects, args.workers, args.tiny, args.model_dir)
    print(f"{f.objects} uploads, {f.workers} concurrent invocations, moto server on loopback; model: {f.model}")
    print(f"  uploaded in {f.upload_s:.1f} s; screened and moved in {f.screen_s:.1f} s = {f.objects_per_s:.1f} objects/s")
    print(f"  handler latency per invocation: p50 {f.p50_ms:.0f} ms, p95 {f.p95_ms:.0f} ms, max {f.max_ms:.0f} ms")
    print(f"  verdicts: {f.approved} approved, {f.review} review; failed invocations: {f.failed_invocations}")
    print(f"  handler logs: {os.path.relpath(LOG)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(f), indent=1))
    if f.problems or f.failed_invocations:
        print("FAILED:\n  " + "\n  ".join(f.problems[:20] or ["see the log"]), file=sys.stderr)
        return 1
    print(f"  OK: every upload is in exactly one of approved/ and review/ with its own bytes; incoming/ is empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
