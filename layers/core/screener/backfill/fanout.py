"""Listing messages: list ONE page, send its work messages, then hand the next page on.

Order matters for "nothing lost, nothing forked":
1. List the page (ListObjectsV2 with the message's ContinuationToken, or a page of the S3
   Inventory the seed names: inventory.py).
2. Send every work message (SendMessageBatch, retrying entries SQS reports as failed).
3. Claim the page with a conditional write of its marker (If-None-Match: *).
4. Only the delivery that owns the marker sends the continuation.

A crash before 3 leaves the message to be redelivered, which re-sends the same work (idempotent:
tagged objects are skipped, part files overwritten). A duplicate delivery of a listing message
finds the marker owned by another message id and stops there, so a chain never forks; the owner's
own redelivery (same message id) re-sends the continuation, so a chain never breaks either.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..s3_objects import S3Objects
from .inventory import inventory_page
from .messages import Listing, Rules, encode
from .plan import Entry, PagePlan, batches, entries_for, plan_page
from .report import PageMarker, page_key


class SendFailed(Exception):
    """SQS kept refusing some entries; the listing message fails and is redelivered."""


@dataclass(frozen=True)
class FanOutResult:
    page: int
    listed: int
    work_messages: int
    continued: bool  # a continuation for the next page was sent by this delivery
    duplicate: bool  # another message already fanned this page out and owns its continuation
    last: bool


def send_entries(sqs: Any, queue_url: str, entries: Sequence[Entry], attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """SendMessageBatch in chunks of <= 10, re-sending only the entries SQS reports as failed."""
    for batch in batches(entries):
        pending = list(batch)
        for attempt in range(attempts):
            resp = sqs.send_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": e.id, "MessageBody": e.body} for e in pending]
            )
            failed = resp.get("Failed", [])
            if not failed:
                break
            permanent = [f for f in failed if f.get("SenderFault")]
            if permanent:
                f = permanent[0]
                raise SendFailed(f"SQS refused entry {f.get('Id')}: {f.get('Code')} {f.get('Message')}")
            ids = {f["Id"] for f in failed}
            pending = [e for e in pending if e.id in ids]
            sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))  # jittered backoff
        else:
            raise SendFailed(f"{len(pending)} entries still failing after {attempts} attempts")


def fan_out(listing: Listing, *, objects: S3Objects, sqs: Any, queue_url: str, rules: Rules,
            keys_per_message: int, page_size: int, message_id: str) -> FanOutResult:
    scope = listing.scope
    rules.check_bucket(scope.bucket)  # defence in depth: parse_message checked it already
    if scope.inventory is not None:
        contents, next_token = inventory_page(objects, scope, listing.token, page_size)
    else:
        page = objects.list_page(scope.bucket, scope.prefix, listing.token, page_size)
        contents, next_token = [{"Key": o.key, "Size": o.size} for o in page.objects], page.next_token
    plan: PagePlan = plan_page(listing, contents, next_token, keys_per_message, rules)
    send_entries(sqs, queue_url, entries_for(plan))
    marker = PageMarker(plan.page, plan.listed, plan.next is None, message_id)
    key = page_key(scope.run_id, plan.page)
    owner = message_id
    if not objects.put_bytes(scope.bucket, key, marker.to_bytes(), "application/json", if_absent=True):
        existing = objects.get_bytes(scope.bucket, key)
        owner = PageMarker.from_bytes(existing).message_id if existing else message_id
    duplicate = owner != message_id
    continued = False
    if plan.next is not None and not duplicate:
        send_entries(sqs, queue_url, [Entry("next", encode(plan.next))])
        continued = True
    return FanOutResult(plan.page, plan.listed, len(plan.work), continued, duplicate, plan.next is None)
