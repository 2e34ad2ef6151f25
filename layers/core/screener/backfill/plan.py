"""Fan-out planning: one ListObjectsV2 page -> work messages of N keys + the next page's continuation. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .messages import MAX_BODY_BYTES, MAX_OBJECTS_PER_WORK, Listing, Rules, Work, WorkItem, encode

SQS_BATCH_MAX_ENTRIES = 10  # SendMessageBatch's hard limit


@dataclass(frozen=True)
class PagePlan:
    page: int
    work: tuple[Work, ...]
    next: Listing | None  # None on the last page
    ignored: tuple[str, ...]  # folder markers and keys under reserved prefixes: never screened

    @property
    def listed(self) -> int:
        return sum(len(w.objects) for w in self.work)


def plan_page(
    listing: Listing,
    contents: Sequence[Mapping[str, Any]],
    next_token: str | None,
    keys_per_message: int,
    rules: Rules,
) -> PagePlan:
    """Split one listing page (``Contents`` of ListObjectsV2) into work messages.

    Chunks are numbered in listing order, so a redelivered listing message plans the same work
    messages with the same part names, and a redelivery only overwrites, never adds, report parts.
    """
    if not 1 <= keys_per_message <= MAX_OBJECTS_PER_WORK:
        raise ValueError(f"keys_per_message must lie in 1..{MAX_OBJECTS_PER_WORK}")
    items: list[WorkItem] = []
    ignored: list[str] = []
    for c in contents:
        key = str(c["Key"])
        if key.endswith("/") or rules.is_reserved(key) or not key.startswith(listing.scope.prefix):
            ignored.append(key)
            continue
        items.append(WorkItem(key, int(c.get("Size", 0))))
    work = tuple(
        Work(listing.scope, page=listing.page, chunk=i, objects=tuple(items[s : s + keys_per_message]))
        for i, s in enumerate(range(0, len(items), keys_per_message))
    )
    nxt = Listing(listing.scope, page=listing.page + 1, token=next_token) if next_token else None
    return PagePlan(page=listing.page, work=work, next=nxt, ignored=tuple(ignored))


@dataclass(frozen=True)
class Entry:
    id: str  # unique within one SendMessageBatch call: [A-Za-z0-9_-]{1,80}
    body: str


def entries_for(plan: PagePlan) -> list[Entry]:
    return [Entry(f"c{w.chunk}", encode(w)) for w in plan.work]


def batches(entries: Iterable[Entry], max_entries: int = SQS_BATCH_MAX_ENTRIES, max_bytes: int = MAX_BODY_BYTES) -> list[list[Entry]]:
    """Group entries for SendMessageBatch: at most 10 per call and the call's total payload under the limit."""
    out: list[list[Entry]] = []
    cur: list[Entry] = []
    size = 0
    for e in entries:
        n = len(e.body.encode("utf-8"))
        if n > max_bytes:
            raise ValueError(f"entry {e.id} is {n} bytes, over the {max_bytes}-byte message limit")
        if cur and (len(cur) == max_entries or size + n > max_bytes):
            out.append(cur)
            cur, size = [], 0
        cur.append(e)
        size += n
    if cur:
        out.append(cur)
    return out
