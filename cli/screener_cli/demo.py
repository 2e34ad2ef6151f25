"""`screener demo` (`make demo`): the whole upload path on this machine, no AWS, no Docker.

Starts moto's S3 server in-process on 127.0.0.1 (a free port), creates a bucket, uploads the
sample photos and a few bad inputs to incoming/ under realistic keys (spaces, unicode, an
uploader's tags and metadata), builds each S3 event exactly as S3 would (URL-encoded key, eTag,
size), runs them through the real UploadFunction handler with `screener invoke`'s machinery
(template environment, layers on sys.path, one fresh process), prints each photo's verdict,
then lists the bucket to show every object ended in exactly one of approved/ or review/. Last,
the catalog team's turn: one review photo approved and one rejected, as `screener review` does.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .invoke import LOCAL_MODEL_DIR, ROOT, invoke
from .s3_events import object_created, s3_event
from .samples import SAMPLES, bad_inputs
from .table import labels_text, render

BUCKET = "product-photos-demo"
MAX_BYTES = 20 * 1024 * 1024  # the template's MaxImageBytes default


def _uploads() -> list[tuple[str, bytes, str, str]]:
    """(key, bytes, content type, tagging) for every demo upload."""
    out = []
    for i, p in enumerate(sorted(SAMPLES.glob("*.jp*g"))):
        tagging = "uploader=studio-4&campaign=spring 2025" if i % 2 == 0 else "uploader=vendor-portal"
        out.append((f"incoming/catalog/{p.name}", p.read_bytes(), "image/jpeg", tagging))
    bad_keys = {"notes.txt renamed.jpg": "incoming/vendor uploads/notes.txt renamed.jpg",
                "thumbnail 160px.jpg": "incoming/vendor uploads/thumbnail 160px.jpg",
                "purple vase cut-out.png": "incoming/déco/vase violet cut-out+alpha.png",
                "raw scan (too big).jpg": "incoming/vendor uploads/raw scan 100% (too big).jpg"}
    for name, (data, ctype) in bad_inputs(MAX_BYTES).items():
        out.append((bad_keys[name], data, ctype, "uploader=vendor-portal"))
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="screen sample photos through the real handler against an embedded S3")
    p.add_argument("--model-dir", help=f"model directory (default {LOCAL_MODEL_DIR.relative_to(ROOT)})")
    p.add_argument("--log", default=str(ROOT / ".demo" / "handler.log"), help="where the handler's logs go")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model_dir) if args.model_dir else LOCAL_MODEL_DIR
    if not (model_dir / "manifest.json").is_file():
        print(f"screener demo: no model at {model_dir} (manifest.json missing).\n"
              "  The demo screens with the real model only. Build it with `make model`, or wait for\n"
              "  the model layer to be committed, then run `make demo` again.", file=sys.stderr)
        return 2
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request access log

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "demo",
               "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
        env.pop("AWS_PROFILE", None)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="demo", aws_secret_access_key="demo")
        s3.create_bucket(Bucket=BUCKET)
        print(f"embedded S3 (moto) on {endpoint}, bucket {BUCKET}")
        uploads, events = _uploads(), []
        for seq, (key, data, ctype, tagging) in enumerate(uploads):
            r = s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=ctype, Tagging=tagging,
                              Metadata={"sku": f"SKU-{1000 + seq}"})
            events.append(s3_event(object_created(BUCKET, key, len(data), r["ETag"], r.get("VersionId"), seq=seq)))
        print(f"uploaded {len(uploads)} objects to incoming/; invoking UploadFunction once per S3 event ...")
        log = Path(args.log)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        res = invoke("UploadFunction", events, model_dir=model_dir, env=env, log_file=log)
        rows, errors = [], 0
        for (key, *_), inv in zip(uploads, res.invocations):
            if not inv["ok"]:
                errors += 1
                rows.append([key.removeprefix("incoming/"), "ERROR", inv.get("errorType", ""), "-", "-"])
                continue
            for rec in inv["response"]["records"]:
                rows.append([key.removeprefix("incoming/"), rec.get("verdict", rec["outcome"]),
                             " ".join(rec.get("reasons", [])) or "-", labels_text(rec.get("labels", {})),
                             rec.get("destination") or "-"])
        print(f"handler cold start {res.init_ms:.0f} ms; logs in {os.path.relpath(log)}\n")
        print(render(["photo", "verdict", "reasons", "top labels (bg | angle | category)", "destination"], rows,
                     max_width=72))
        rc = _check_bucket(s3, uploads, errors)
        if rc == 0:
            _review(s3)
        return rc
    finally:
        server.stop()


def _review(s3) -> None:
    """The catalog team's turn, through `screener review`'s own functions: the first two catalog
    photos the model sent to review (whichever they are for this model), one approved, one rejected."""
    from datetime import datetime, timezone

    from screener.config import Prefixes
    from screener.review import ReviewDecision, ReviewRecord, review_queue
    from screener.s3_objects import S3Objects

    from .review import decide, show_queue

    objects, at = S3Objects(s3), datetime.now(timezone.utc)
    waiting = [e.key for e in review_queue(objects, Prefixes(), BUCKET) if e.key.startswith("review/catalog/")]
    print("\ncatalog team (screener review approve / reject):")
    for key, decision, note in zip(waiting, (ReviewDecision.APPROVE, ReviewDecision.REJECT),
                                   ("checked by eye, meets the standard", "reshoot needed")):
        decide(objects, Prefixes(), BUCKET, [key], ReviewRecord(decision, "demo-reviewer", at, note))
    print("\nscreener review list:")
    show_queue(objects, Prefixes(), BUCKET)


def _check_bucket(s3, uploads, errors: int) -> int:
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    print(f"\ns3://{BUCKET} now holds:")
    for k in listed:
        print(f"  {k}")
    problems = []
    for key, *_ in uploads:
        rest = key.removeprefix("incoming/")
        where = [p for p in ("approved/", "review/", "incoming/") if p + rest in listed]
        if where not in (["approved/"], ["review/"]):
            problems.append(f"{key}: found in {where or 'nowhere'}")
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=next(k for k in listed if k.startswith(("approved/", "review/"))))
    print("\nexample tags: " + json.dumps({t["Key"]: t["Value"] for t in tags["TagSet"]}))
    if problems or errors:
        print("\nFAILED: " + "; ".join(problems or [f"{errors} invocation(s) failed"]), file=sys.stderr)
        return 1
    print(f"\nOK: all {len(uploads)} uploads ended in exactly one of approved/ or review/; incoming/ is empty.")
    return 0
