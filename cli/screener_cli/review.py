"""`screener review {list, approve, reject}`: the catalog team's side of review/.

    screener review list --bucket B [--pending] [--json]
    screener review approve --bucket B --by NAME [--note TEXT] KEY...
    screener review reject  --bucket B --by NAME [--note TEXT] KEY...

Uses the caller's own AWS credentials (or AWS_ENDPOINT_URL for a local S3) and the deployment's
prefixes (APPROVED_PREFIX, REVIEW_PREFIX; defaults approved/ and review/). The decisions are
screener.review's: an approval is a conditional move to approved/, a rejection a conditional
rewrite in place, both refused for a photo replaced since it was read.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone

from screener.config import ConfigError, Prefixes, load_config
from screener.deps import s3_client
from screener.review import ReviewDecision, ReviewOutcome, ReviewRecord, apply_decision, review_queue
from screener.s3_objects import S3Objects

from .table import render


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="list the photos waiting in review/, approve or reject them")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="the photos under review/ with the screener's reasons and any decision")
    ls.add_argument("--bucket", required=True)
    ls.add_argument("--pending", action="store_true", help="only photos no one has decided yet")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    for name, decision, what in (("approve", ReviewDecision.APPROVE, "move to approved/, i.e. publish"),
                                 ("reject", ReviewDecision.REJECT, "mark as rejected; the photo stays in review/")):
        a = actions.add_parser(name, help=what)
        a.add_argument("keys", nargs="+", metavar="KEY", help="full object keys, e.g. 'review/catalog/red chair.jpg'")
        a.add_argument("--bucket", required=True)
        a.add_argument("--by", required=True, help="who decided (recorded on the photo)")
        a.add_argument("--note", default="", help="why, in a few words (recorded on the photo)")
        a.set_defaults(decision=decision)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        prefixes = load_config(os.environ).prefixes
    except ConfigError as e:
        print(f"screener review: {e}", file=sys.stderr)
        return 2
    objects = S3Objects(s3_client(os.environ))
    if args.action == "list":
        show_queue(objects, prefixes, args.bucket, pending=args.pending, as_json=args.json)
        return 0
    try:
        record = ReviewRecord(args.decision, args.by, datetime.now(timezone.utc), args.note)
    except ValueError as e:
        print(f"screener review: {e}", file=sys.stderr)
        return 2
    return 1 if decide(objects, prefixes, args.bucket, args.keys, record) else 0


def decide(objects: S3Objects, prefixes: Prefixes, bucket: str, keys: list[str], record: ReviewRecord) -> int:
    """Apply ``record`` to each key, a line each (failures on stderr); how many failed."""
    failed = 0
    for key in keys:
        r = apply_decision(objects, prefixes, bucket, key, record)
        done = r.outcome in (ReviewOutcome.APPROVED, ReviewOutcome.REJECTED)
        failed += not done
        where = f" -> {r.destination}" if r.destination and r.destination != key else ""
        print(f"{r.outcome.value:<14} {key}{where}{'  (' + r.detail + ')' if r.detail else ''}",
              file=sys.stdout if done else sys.stderr)
    return failed


def show_queue(objects: S3Objects, prefixes: Prefixes, bucket: str, pending: bool = False, as_json: bool = False) -> None:
    rows = []
    for e in review_queue(objects, prefixes, bucket):
        if pending and e.decision:
            continue
        since = e.since.astimezone(timezone.utc) if e.since else None
        if as_json:
            print(json.dumps({"key": e.key, "size": e.size, "since": since.isoformat() if since else None,
                              "reasons": list(e.reasons), "labels": e.labels, "decision": e.decision}), flush=True)
            continue
        labels = " | ".join(e.labels[h] for h in ("background", "angle", "crop", "quality") if h in e.labels)
        rows.append([e.key, since.strftime("%Y-%m-%d %H:%MZ") if since else "-", " ".join(e.reasons) or "-",
                     labels or "-", e.decision or "waiting"])
    if not as_json:
        print(render(["photo (longest waiting first)", "in review since", "reasons",
                      "labels (bg | angle | crop | quality)", "decision"], rows, max_width=60))
        print(f"\n{len(rows)} photo(s) under {prefixes.review}", file=sys.stderr)
