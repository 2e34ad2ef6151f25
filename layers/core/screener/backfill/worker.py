"""Work messages: fetch, screen and tag (or move) a handful of objects, overlapping S3 with compute.

Three stages per object:
1. **fetch** (I/O pool): HEAD, read the tags, skip the object if this model version already
   screened it (unless ``force``), else GET its bytes under the byte cap, pinned to the HEAD's ETag.
2. **screen** (calling thread): the shared ``screen_bytes``. It never raises: a bad object becomes
   a review with a named reason.
3. **apply** (I/O pool): merge the verdict into the object's tags (tag mode), or copy it to
   approved/ or review/ and delete the source after the copy succeeded (move mode), both through
   the shared ``S3Objects``. In an unversioned bucket a tagged object is HEADed again: if it was
   replaced meanwhile, the verdict is taken off the new bytes (``verdict_on_screened_bytes``).

At most ``prefetch`` objects are fetched ahead of the one being screened, so memory stays bounded
by a few photos while S3 latency hides behind decode and inference. S3 failures that survive the
client's retries propagate: the message fails and SQS redelivers it, and the redelivery skips
every object already tagged by this run, so nothing is screened twice and nothing is skipped.
"""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field, replace
from typing import Callable

from ..classifier import Classifier
from ..config import Config
from ..reasons import Reason
from ..rules import check_size
from ..s3_objects import MoveOutcome, ObjectInfo, ObjectTooLarge, S3Objects, SourceChanged
from ..screening import ScreenResult, refused, screen_bytes
from ..tags import NAMESPACE, PriorScreening, fit_metadata, plan_tags, read_screening
from .messages import Mode, Rules, Scope, Work, WorkItem
from .report import ObjectResult, Status, Timings, encode_part, part_key

FETCH_ATTEMPTS = 3  # re-HEAD when the object changes between HEAD and GET


class OutOfTime(Exception):
    """The invocation is about to time out; the message fails and its redelivery resumes it."""


@dataclass(frozen=True)
class Fetched:
    item: WorkItem
    info: ObjectInfo | None  # None: the object is gone
    tags: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None
    prior: PriorScreening | None = None  # set when the object is skipped
    refusal: ScreenResult | None = None  # decided without the bytes (over the byte cap)
    changed: bool = False  # kept changing under us; left for a later run
    moved_to: str | None = None  # move mode: gone from the source because an earlier delivery moved it
    ms: float = 0.0


@dataclass(frozen=True)
class WorkerDeps:
    objects: S3Objects
    classifier: Classifier
    config: Config
    rules: Rules
    pool: Executor
    prefetch: int = 4


def _already_moved(item: WorkItem, bucket: str, deps: WorkerDeps) -> tuple[str, PriorScreening | None] | None:
    """Where an earlier delivery moved this object, and the verdict its tags record."""
    for approved in (True, False):
        dest = deps.config.prefixes.destination(item.key, approved)
        info = deps.objects.head(bucket, dest)
        if info is not None:
            return dest, read_screening(deps.objects.get_tags(info))
    return None


def fetch(item: WorkItem, scope: Scope, deps: WorkerDeps) -> Fetched:
    t0 = time.perf_counter()
    objects, limits, model_id = deps.objects, deps.config.limits, deps.classifier.model_id
    bucket, force = scope.bucket, scope.force

    def done(**kw) -> Fetched:
        return Fetched(item=item, ms=(time.perf_counter() - t0) * 1000, **kw)

    for _ in range(FETCH_ATTEMPTS):
        info = objects.head(bucket, item.key)
        if info is None:
            moved = _already_moved(item, bucket, deps) if scope.mode is Mode.MOVE else None
            if moved is not None:
                return done(info=None, moved_to=moved[0], prior=moved[1])
            return done(info=None)
        tags = objects.get_tags(info)
        prior = read_screening(tags)
        if not force and prior is not None and prior.model_id == model_id:
            return done(info=info, tags=tags, prior=prior)
        if check_size(info.size, limits) is Reason.TOO_LARGE_BYTES:
            return done(info=info, tags=tags, refusal=refused(
                Reason.TOO_LARGE_BYTES, model_id, f"{info.size} bytes > cap {limits.max_bytes}"))
        try:
            return done(info=info, tags=tags, data=objects.read(info, limits.max_bytes))
        except ObjectTooLarge as e:
            return done(info=info, tags=tags, refusal=refused(Reason.TOO_LARGE_BYTES, model_id, str(e)))
        except SourceChanged:
            continue  # re-uploaded between HEAD and GET: screen the new version instead
    return done(info=info, changed=True)


def _category(result: ScreenResult) -> str | None:
    top = result.top_labels().get("category")
    return top[0] if top else None


def apply(f: Fetched, result: ScreenResult | None, timings: Timings, mode: Mode, deps: WorkerDeps) -> ObjectResult:
    """Record the verdict on the object (tags, or tags + move). ``result`` None means skipped."""
    info = f.info
    assert info is not None
    base = dict(key=f.item.key, size=info.size)
    if result is None:
        prior = f.prior
        assert prior is not None
        row = ObjectResult(status=Status.SKIPPED, verdict=prior.verdict, reasons=prior.reasons,
                           category=prior.category, model=prior.model_id, timings=timings, **base)
        if mode is Mode.TAG:
            return row
        # Screened by this model before (e.g. by a tag-mode run) but not moved yet: move by that verdict.
        t0 = time.perf_counter()
        dest = deps.config.prefixes.destination(info.key, prior.verdict == "approved")
        moved = deps.objects.move(info, dest, f.tags)
        return _moved_row(row, moved.outcome, moved.destination, replace(timings, move=(time.perf_counter() - t0) * 1000))
    plan = plan_tags(f.tags, result)
    row = ObjectResult(status=Status.SCREENED, verdict=result.verdict.value,
                       reasons=tuple(r.value for r in result.reasons), category=_category(result),
                       model=result.model_id, timings=timings, **base)
    t0 = time.perf_counter()
    if mode is Mode.TAG:
        # Live catalog photos stay where they are. When the uploader's tags leave too little room
        # the verdict is compacted (see tags.py); the report keeps the full verdict either way.
        deps.objects.put_tags(info.bucket, info.key, plan.tags, info.version_id)
        changed = info.version_id is None and not verdict_on_screened_bytes(info, plan.tags, deps.objects)
        return replace(row, status=Status.CHANGED if changed else row.status,
                       timings=replace(timings, tag=(time.perf_counter() - t0) * 1000))
    extra = fit_metadata(info.metadata, plan.metadata) if plan.metadata else None
    dest = deps.config.prefixes.destination(info.key, result.approved)
    moved = deps.objects.move(info, dest, plan.tags, extra)
    return _moved_row(row, moved.outcome, moved.destination, replace(timings, move=(time.perf_counter() - t0) * 1000))


def verdict_on_screened_bytes(info: ObjectInfo, written: dict[str, str], objects: S3Objects) -> bool:
    """After tagging in an unversioned bucket: does the key still hold the bytes that were screened?

    PutObjectTagging takes no ETag condition, and without a version id it tags whatever the key
    holds by then. If the photo was replaced since the GET, the verdict may now sit on bytes
    nobody screened, and every later run would read it back as this model's and skip them. So
    when the ETag moved, a verdict found on the new bytes is taken off again (the uploader's tags
    stay as written), and the object is reported as changed: the next run screens it. Costs one
    HEAD per object, in unversioned buckets only; a versioned bucket pins the tags to the screened
    version instead."""
    now = objects.head(info.bucket, info.key)
    if now is None or now.etag == info.etag:
        return True  # unchanged, or deleted since: no stale verdict anywhere
    try:
        current = objects.get_tags(now)
    except SourceChanged:
        return False  # replaced again, or deleted: whatever holds the key now was never tagged by us
    ours = {k: v for k, v in written.items() if k.startswith(NAMESPACE)}
    if ours and all(current.get(k) == v for k, v in ours.items()):
        objects.put_tags(now.bucket, now.key, {k: v for k, v in current.items() if not k.startswith(NAMESPACE)})
    return False


def _moved_row(row: ObjectResult, outcome: MoveOutcome, destination: str | None, timings: Timings) -> ObjectResult:
    if outcome is MoveOutcome.SUPERSEDED:
        # Re-uploaded between GET and copy: nothing was touched; a later run screens the new bytes.
        return replace(row, status=Status.CHANGED, destination=None, timings=timings)
    if outcome is MoveOutcome.MISSING:
        return replace(row, status=Status.MISSING, destination=None, timings=timings)
    return replace(row, destination=destination, timings=timings)


def screen(f: Fetched, deps: WorkerDeps) -> tuple[ScreenResult, Timings]:
    if f.refusal is not None:
        return f.refusal, Timings(fetch=f.ms)
    assert f.data is not None and f.info is not None
    r = screen_bytes(f.data, deps.classifier, deps.config, f.info.content_type)
    t = r.timings_ms
    return r, Timings(
        fetch=f.ms,
        decode=t.get("header", 0.0) + t.get("decode", 0.0),
        prepare=t.get("prepare", 0.0),
        infer=t.get("predict", 0.0),
    )


def process_work(work: Work, deps: WorkerDeps, time_left_ms: Callable[[], int] | None = None,
                 min_remaining_ms: int = 0) -> list[ObjectResult]:
    """Screen every object of one work message; returns one result per object, in listing order."""
    scope = work.scope
    deps.rules.check_bucket(scope.bucket)  # defence in depth: parse_message checked it already
    items = list(work.objects)
    fetches: deque[Future[Fetched]] = deque()
    rows: list[Future[ObjectResult] | ObjectResult] = []
    nxt = 0

    def top_up() -> None:
        nonlocal nxt
        while nxt < len(items) and len(fetches) < deps.prefetch:
            fetches.append(deps.pool.submit(fetch, items[nxt], scope, deps))
            nxt += 1

    try:
        top_up()
        while fetches:
            if time_left_ms is not None and time_left_ms() < min_remaining_ms:
                raise OutOfTime(f"{len(fetches) + len(items) - nxt} objects left for the redelivery")
            f = fetches.popleft().result()
            top_up()  # the next fetch starts before this object is screened
            if f.info is None and f.moved_to is not None:
                p = f.prior
                rows.append(ObjectResult(f.item.key, Status.SKIPPED, f.item.size, verdict=p.verdict if p else None,
                                         reasons=p.reasons if p else (), category=p.category if p else None,
                                         model=p.model_id if p else None, destination=f.moved_to,
                                         timings=Timings(fetch=f.ms)))
            elif f.info is None:
                rows.append(ObjectResult(f.item.key, Status.MISSING, f.item.size, timings=Timings(fetch=f.ms)))
            elif f.changed:
                rows.append(ObjectResult(f.item.key, Status.CHANGED, f.info.size, timings=Timings(fetch=f.ms)))
            elif f.prior is not None:
                rows.append(deps.pool.submit(apply, f, None, Timings(fetch=f.ms), scope.mode, deps))
            else:
                result, timings = screen(f, deps)
                # The bytes are not needed any more: do not keep them alive while the write waits.
                rows.append(deps.pool.submit(apply, replace(f, data=None), result, timings, scope.mode, deps))
        return [r.result() if isinstance(r, Future) else r for r in rows]
    except BaseException:
        for fut in fetches:
            fut.cancel()
        # Let writes already started finish before the message is reported failed: a redelivery
        # must not race this delivery's own writes.
        wait([r for r in rows if isinstance(r, Future)] + list(fetches))
        raise


def write_part(work: Work, rows: list[ObjectResult], objects: S3Objects) -> str:
    """One JSONL part per work message, named by (page, chunk): a redelivery overwrites it."""
    key = part_key(work.scope.run_id, work.part_name)
    objects.put_bytes(work.scope.bucket, key, encode_part(rows), "application/x-ndjson")
    return key
