"""Screen one S3 object end to end: HEAD -> byte cap -> GET -> screen -> tags -> move.

Public API::

    process_object(objects: S3Objects, classifier: Classifier, config: Config, bucket: str,
                   key: str, *, version_id: str | None = None, etag: str | None = None)
        -> ObjectOutcome
    ObjectOutcome(bucket, key, outcome, destination, result, tag_level, detail)
        .as_dict() -> dict   JSON-ready summary for logs, the CLI and invoke output

``key`` is the decoded object key. ``version_id``/``etag`` come from the event when there is
one: they pin the screening to the upload that caused it, so a stale event never moves a newer
upload (that upload's own event does). The backfill calls this with neither, and screens
whatever is current. Bad bytes never raise (they become a review); S3 errors do, and leave the
object in incoming/ for a retry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .classifier import Classifier
from .config import Config
from .reasons import Reason
from .rules import check_size
from .s3_keys import key_fits
from .s3_objects import MoveOutcome, ObjectTooLarge, S3Objects, SourceChanged
from .screening import ScreenResult, refused, screen_bytes, with_reason
from .tags import Compaction, fit_metadata, plan_tags


@dataclass(frozen=True)
class ObjectOutcome:
    bucket: str
    key: str
    outcome: MoveOutcome
    destination: str | None = None
    result: ScreenResult | None = None  # None when nothing was screened (duplicate, superseded, ...)
    tag_level: Compaction | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "outcome": self.outcome.value, "destination": self.destination}
        r = self.result
        if r is not None:
            d.update(verdict=r.verdict.value, reasons=[x.value for x in r.reasons], model=r.model_id,
                     labels={h: [lbl, round(p, 4)] for h, (lbl, p) in r.top_labels().items()},
                     timings_ms=dict(r.timings_ms))
            if r.scores is not None:
                d["scores"] = {"crop": round(r.scores.crop_ok, 4), "quality": round(r.scores.quality, 4)}
            if r.detail:
                d["detail"] = r.detail
        if self.tag_level is not None:
            d["tag_level"] = self.tag_level.value
        if self.detail:
            d["move_detail"] = self.detail
        return d


def _norm_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


def _gone(objects: S3Objects, config: Config, bucket: str, key: str) -> ObjectOutcome:
    for dest in config.prefixes.destinations(key):
        if objects.exists(bucket, dest):
            return ObjectOutcome(bucket, key, MoveOutcome.DUPLICATE, dest, detail="already moved")
    return ObjectOutcome(bucket, key, MoveOutcome.MISSING, detail="source gone, no destination")


def _changed(objects: S3Objects, config: Config, bucket: str, key: str, detail: str) -> ObjectOutcome:
    """The source changed or vanished after HEAD: re-uploaded (its own event screens it), or
    moved by a concurrent delivery of the same event (a duplicate, not an error to retry)."""
    if objects.head(bucket, key) is None:
        return _gone(objects, config, bucket, key)
    return ObjectOutcome(bucket, key, MoveOutcome.SUPERSEDED, detail=detail)


def process_object(objects: S3Objects, classifier: Classifier, config: Config, bucket: str, key: str, *,
                   version_id: str | None = None, etag: str | None = None) -> ObjectOutcome:
    info = objects.head(bucket, key)  # the current version, whatever the event says
    if info is None:
        return _gone(objects, config, bucket, key)
    if version_id not in (None, "", "null") and info.version_id != version_id:
        return ObjectOutcome(bucket, key, MoveOutcome.SUPERSEDED,
                             detail=f"event version {version_id} is not current {info.version_id}")
    if etag and _norm_etag(etag) != info.bare_etag:
        return ObjectOutcome(bucket, key, MoveOutcome.SUPERSEDED, detail="event ETag is not current")

    limits = config.limits
    size_reason = check_size(info.size, limits)
    result: ScreenResult
    if size_reason is Reason.TOO_LARGE_BYTES:
        # Decided from HEAD: the object is never downloaded.
        result = refused(size_reason, classifier.model_id, f"{info.size} bytes > cap {limits.max_bytes}")
    else:
        try:
            data = objects.read(info, limits.max_bytes)
        except SourceChanged as e:
            return _changed(objects, config, bucket, key, str(e))
        except ObjectTooLarge as e:
            result = refused(Reason.TOO_LARGE_BYTES, classifier.model_id, str(e))
        else:
            result = screen_bytes(data, classifier, config, info.content_type)

    dest = config.prefixes.destination(key, result.approved)
    if not key_fits(dest):
        # Only a destination prefix longer than incoming's gets here. review/ may still fit;
        # if not, the mover tags the verdict where the photo lies.
        result = with_reason(result, Reason.KEY_TOO_LONG)
        dest = config.prefixes.destination(key, False)
    try:
        existing_tags = objects.get_tags(info)
    except SourceChanged as e:
        return _changed(objects, config, bucket, key, str(e))
    plan = plan_tags(existing_tags, result)
    extra = fit_metadata(info.metadata, plan.metadata) if plan.metadata else None
    moved = objects.move(info, dest, plan.tags, extra)
    return ObjectOutcome(bucket, key, moved.outcome, moved.destination, result, plan.level, moved.detail)
