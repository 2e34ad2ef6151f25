"""A person's decision on a photo the screener sent to review/: approve it or reject it.

Public API::

    ReviewDecision                 APPROVE | REJECT
    ReviewRecord(decision, reviewer, at, note="")   .text: "approved by alice at 2026-12-02T01:30Z: note"
    decided_tags(existing, record) -> DecidedTags   the photo's new tag set; what it cannot hold -> metadata
    queue_entry(key, size, tags, since=None) -> QueueEntry   what a reviewer needs to see of one waiting photo
    recorded(tags, metadata) -> dict   the tags, with what the 10-tag limit pushed into metadata put back
    ReviewOutcome                  APPROVED | REJECTED | NOT_IN_REVIEW | MISSING | CHANGED | UNMOVABLE
    apply_decision(objects, prefixes, bucket, key, record) -> ReviewResult
    review_queue(objects, prefixes, bucket) -> list[QueueEntry]   the longest waiting first

An approved photo moves to approved/ the way the screener moves one (``S3Objects.move``: a copy
conditional on the ETag the reviewer's read saw, then a conditional delete), so a photo replaced
while it was being reviewed is never published on the old photo's review. A rejected one stays
in review/ (the screener's invariant: every photo is in approved/ or review/), marked by a copy
onto itself under the same condition: PutObjectTagging takes no ETag condition, so tagging in
place could mark a newer photo with an older photo's rejection.

The decision is the ``review:decision`` tag, outside the ``screen:`` namespace on purpose: a later
re-screening (a backfill with a new model) replaces every ``screen:`` tag but keeps a person's
word. It goes to the copy's metadata (``screen-review``) too. When the 10-tag limit leaves no room
for it beside the uploader's and the screening's tags, the screening's score tags give way first
and move to the copy's metadata (``screen-category`` ...), as the screener's own compaction does.
The uploader's tags are never dropped: with all 10 taken, the decision is in the metadata alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Mapping

from .config import Prefixes
from .s3_objects import MoveOutcome, ObjectInfo, S3Objects, SourceChanged
from .tags import MAX_TAGS, METADATA_PREFIX, NAMESPACE, clean_text, fit_metadata, header_text, header_value

DECISION_TAG = "review:decision"
DECISION_METADATA = METADATA_PREFIX + "review"
# The screening's tags, the first to give way when a decision needs the room: scores, then the
# model, then the reasons a person overruled. The verdict goes last; the prefix records it anyway.
_YIELD_ORDER = tuple(NAMESPACE + t for t in ("category", "background", "angle", "crop", "quality", "scores",
                                             "model", "reasons", "verdict"))
_PACKED_NAMES = {"bg": "background", "cat": "category"}  # tags.packed_scores' short names


class ReviewDecision(str, Enum):
    APPROVE = "approved"
    REJECT = "rejected"


@dataclass(frozen=True)
class ReviewRecord:
    decision: ReviewDecision
    reviewer: str
    at: datetime
    note: str = ""

    def __post_init__(self) -> None:
        if not clean_text(self.reviewer).strip(" _"):
            raise ValueError("a review needs the reviewer's name, in letters, digits or . _ - @")

    @property
    def text(self) -> str:
        """One tag value (S3's charset, <= 256 characters): who decided what, when, and why. A name
        or note in any script keeps its letters; only characters S3 refuses in tags become _."""
        stamp = self.at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        text = f"{self.decision.value} by {clean_text(self.reviewer, 64)} at {stamp}"
        return clean_text(f"{text}: {self.note}" if self.note.strip() else text)

    @property
    def metadata_text(self) -> str:
        """``text`` as a metadata value: ASCII, RFC 2047-encoded when the name or note is not."""
        return header_value(self.text)


@dataclass(frozen=True)
class DecidedTags:
    tags: dict[str, str]  # the photo's complete new tag set
    metadata: dict[str, str]  # the decision, and the screening tags that gave way, in order of importance


def decided_tags(existing: Mapping[str, str], record: ReviewRecord) -> DecidedTags:
    """The photo's tags after ``record``: the uploader's untouched, the decision added (an earlier
    one replaced), ``screen:verdict`` set to approved on approval, and as many of the screening's
    tags as the 10-tag limit leaves; those that give way go to the metadata."""
    tags = {k: v for k, v in existing.items() if k != DECISION_TAG}
    if record.decision is ReviewDecision.APPROVE and NAMESPACE + "verdict" in tags:
        tags[NAMESPACE + "verdict"] = "approved"
    metadata = {DECISION_METADATA: record.metadata_text}
    if sum(1 for k in tags if not k.startswith(NAMESPACE)) < MAX_TAGS:  # never at the uploader's expense
        for key in _YIELD_ORDER:
            if len(tags) < MAX_TAGS:
                break
            if key in tags:
                metadata[METADATA_PREFIX + key[len(NAMESPACE):]] = tags.pop(key)
        tags[DECISION_TAG] = record.text
    return DecidedTags(tags, metadata)


@dataclass(frozen=True)
class QueueEntry:
    key: str
    size: int
    reasons: tuple[str, ...]  # the screener's; empty when its tags were compacted away
    labels: dict[str, str]  # screen:background / angle / crop / quality / category values, as tagged
    decision: str | None  # the review:decision tag, None while the photo waits
    since: datetime | None = None  # when the photo arrived in review/ (its copy's Last-Modified)


def recorded(tags: Mapping[str, str], metadata: Mapping[str, str]) -> dict[str, str]:
    """The photo's screening and decision as tags, with what the 10-tag limit pushed into its
    ``screen-`` metadata put back (``screen-reasons`` -> ``screen:reasons``, ``screen-review`` ->
    the decision, decoded from RFC 2047 where a name needed it). Tags win where both exist."""
    out: dict[str, str] = {}
    for k, v in metadata.items():
        if k == DECISION_METADATA:
            out[DECISION_TAG] = header_text(v)
        elif k.startswith(METADATA_PREFIX):
            out[NAMESPACE + k[len(METADATA_PREFIX):]] = v
    return {**out, **tags}


def needs_metadata(tags: Mapping[str, str]) -> bool:
    """Whether the tags may lack what the queue shows: the screening's reasons (pushed out by an
    uploader's own tags), or, with every tag taken, a decision."""
    return NAMESPACE + "reasons" not in tags or (len(tags) >= MAX_TAGS and DECISION_TAG not in tags)


def queue_entry(key: str, size: int, tags: Mapping[str, str], since: datetime | None = None) -> QueueEntry:
    reasons = tuple(r for r in tags.get(NAMESPACE + "reasons", "").split() if r != "none")
    labels = {name: tags[NAMESPACE + name] for name in ("background", "angle", "crop", "quality", "category")
              if NAMESPACE + name in tags}
    if not labels and NAMESPACE + "scores" in tags:  # the packed rung: "bg=white:0.97 angle=front:0.91 ..."
        packed = dict(part.split("=", 1) for part in tags[NAMESPACE + "scores"].split() if "=" in part)
        labels = {_PACKED_NAMES.get(k, k): v for k, v in packed.items()}
    return QueueEntry(key, size, reasons, labels, tags.get(DECISION_TAG), since)


class ReviewOutcome(str, Enum):
    APPROVED = "approved"  # moved to approved/, the decision recorded on it
    REJECTED = "rejected"  # left in review/, the decision recorded on it
    NOT_IN_REVIEW = "not-in-review"  # the key is not under review/: nothing done
    MISSING = "missing"  # no such photo (already decided and moved, or deleted)
    CHANGED = "changed"  # replaced while being decided: nothing done; look at the new photo
    UNMOVABLE = "unmovable"  # approved/ cannot hold it (key over 1,024 bytes there, or over 5 GiB): nothing done


@dataclass(frozen=True)
class ReviewResult:
    key: str
    outcome: ReviewOutcome
    destination: str | None = None
    detail: str = ""


def apply_decision(objects: S3Objects, prefixes: Prefixes, bucket: str, key: str,
                   record: ReviewRecord) -> ReviewResult:
    if not key.startswith(prefixes.review) or key.endswith("/"):
        return ReviewResult(key, ReviewOutcome.NOT_IN_REVIEW, detail=f"only photos under {prefixes.review} are reviewed")
    info = objects.head(bucket, key)
    if info is None:
        return ReviewResult(key, ReviewOutcome.MISSING, detail="no such photo in review")
    try:
        plan = decided_tags(objects.get_tags(info), record)
    except SourceChanged:
        return ReviewResult(key, ReviewOutcome.MISSING, detail="deleted while being read")
    extra = dict(plan.metadata)
    if record.decision is ReviewDecision.APPROVE and METADATA_PREFIX + "verdict" in info.metadata:
        extra.setdefault(METADATA_PREFIX + "verdict", "approved")  # where compaction put the verdict
    # S3 keeps 2 KB of user metadata: what does not fit after the uploader's is left out, decision first in.
    metadata = fit_metadata({k: v for k, v in info.metadata.items() if k not in extra}, extra)
    if record.decision is ReviewDecision.REJECT:
        return _reject(objects, info, plan.tags, metadata)
    dest = prefixes.approved + key[len(prefixes.review):]
    why = objects.unmovable(info, dest)
    if why is not None:  # S3Objects.move would tag such a photo where it lies, approving it in review/
        return ReviewResult(key, ReviewOutcome.UNMOVABLE, detail=f"approved/ cannot hold it ({why}): publish it by hand")
    moved = objects.move(info, dest, plan.tags, metadata)
    if moved.outcome is MoveOutcome.MOVED:
        return ReviewResult(key, ReviewOutcome.APPROVED, dest, moved.detail)
    if moved.outcome is MoveOutcome.COPIED_SOURCE_CHANGED:
        # The reviewed photo is published; a newer one took its name in review/ and waits there.
        return ReviewResult(key, ReviewOutcome.APPROVED, dest, "a newer photo under the same name stays in review")
    return ReviewResult(key, ReviewOutcome.CHANGED, detail="replaced since it was read: review the new photo")


def _reject(objects: S3Objects, info: ObjectInfo, tags: Mapping[str, str], metadata: Mapping[str, str]) -> ReviewResult:
    try:
        objects.rewrite_in_place(info, tags, metadata)
    except SourceChanged:
        return ReviewResult(info.key, ReviewOutcome.CHANGED, detail="replaced since it was read: review the new photo")
    return ReviewResult(info.key, ReviewOutcome.REJECTED, info.key)


def review_queue(objects: S3Objects, prefixes: Prefixes, bucket: str) -> list[QueueEntry]:
    """Every photo under review/ with what its tags say, the longest waiting first (one
    ListObjectsV2 page per 1,000 and one GetObjectTagging per photo: a week's ~600 uploads send a
    few hundred here at most; one HEAD more where the uploader's tags left the screening's reasons
    or the decision to the metadata)."""
    out = []
    for obj in objects.iter_objects(bucket, prefixes.review):
        if obj.key.endswith("/"):
            continue
        info = ObjectInfo(bucket=bucket, key=obj.key, size=obj.size, etag=obj.etag, version_id=None)
        try:
            tags = objects.get_tags(info)
        except SourceChanged:  # decided (moved) or deleted since the listing
            continue
        if needs_metadata(tags):  # one HEAD more, only for photos whose uploader filled the tags
            head = objects.head(bucket, obj.key)
            if head is None:
                continue
            tags = recorded(tags, head.metadata)
        out.append(queue_entry(obj.key, obj.size, tags, obj.last_modified))
    oldest = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(out, key=lambda e: (e.since or oldest, e.key))
