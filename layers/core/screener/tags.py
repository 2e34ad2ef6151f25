"""The tags (and, when tags run out, metadata) that record a screening on the moved object. Pure.

Public API::

    plan_tags(existing: Mapping[str, str], result: ScreenResult) -> TagPlan
    TagPlan(tags, level, metadata)   tags: the object's complete new tag set (uploader's + ours)
    Compaction: FULL > PACKED > MINIMAL > VERDICT > NONE
    encode_tagging(tags) -> str      the x-amz-tagging form CopyObject/PutObject take
    fit_metadata(existing, extra) -> dict[str, str]   extra entries that fit S3's 2 KB budget
    clean_text(value) -> str         a person's words in S3's tag charset, letters of any script kept
    header_value(value) -> str       ASCII for metadata: as is, or an RFC 2047 encoded word
    header_text(value) -> str        header_value undone
    is_valid_tag(key, value) -> bool
    read_screening(tags) -> PriorScreening | None   verdict, model, reasons, category read back

Tag format (values use only S3's tag charset: letters, digits, space and + - = . _ : / @):

    screen:verdict     approved | review
    screen:model       name@version
    screen:reasons     space-separated reasons ("none" when approved), e.g. "crop quality"
    screen:background  white:0.97      top label:probability, per softmax head
    screen:angle       front:0.91
    screen:category    footwear:0.80   (when the model has a category head)
    screen:crop        0.88            P(cropping adequate)
    screen:quality     0.76

Compaction ladder. S3 allows 10 tags per object and the uploader's tags are never dropped, so
the screening takes whatever room is left, from the first rung that fits:

    FULL     the 8 tags above (7 without a category head)
    PACKED   verdict, model, reasons + one screen:scores tag,
             "bg=white:0.97 angle=front:0.91 crop=0.88 quality=0.76 cat=footwear:0.80"
    MINIMAL  verdict + reasons
    VERDICT  verdict only
    NONE     no screening tags: the uploader already uses all 10

Whatever a rung leaves out of the tags (below PACKED) goes to the object's user metadata as
``screen-verdict``, ``screen-reasons``, ``screen-model`` and ``screen-scores`` on the copy.
The verdict is also always recorded by where the object lands (approved/ or review/).
Tags in the ``screen:`` namespace already on the object (a previous screening) are replaced.
"""
from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping
from urllib.parse import quote

from .screening import ScreenResult

MAX_TAGS = 10
MAX_KEY_LEN = 128
MAX_VALUE_LEN = 256
MAX_METADATA_BYTES = 2048  # S3's limit on user-defined metadata, keys plus values
NAMESPACE = "screen:"
METADATA_PREFIX = "screen-"

# Our own values stay ASCII; S3 also accepts Unicode letters, which uploader tags may use.
_UNSAFE = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")
_S3_TAG_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)
_UNSAFE_TEXT = re.compile(r"[^\w +\-=.:/@]")  # \w: letters and digits of every script, and _


class Compaction(str, Enum):
    FULL = "full"
    PACKED = "packed"
    MINIMAL = "minimal"
    VERDICT = "verdict"
    NONE = "none"


@dataclass(frozen=True)
class TagPlan:
    tags: dict[str, str]  # the complete tag set to put on the object
    level: Compaction
    metadata: dict[str, str] = field(default_factory=dict)  # what the tags could not hold


def clean(value: str, limit: int = MAX_VALUE_LEN) -> str:
    return _UNSAFE.sub("_", value)[:limit]


def clean_text(value: str, limit: int = MAX_VALUE_LEN) -> str:
    """What a person wrote (a reviewer's name, a note) in S3's tag charset: letters and digits of
    any script stay, as S3 allows; composed first (NFC), so an accented letter stays one letter."""
    return _UNSAFE_TEXT.sub("_", unicodedata.normalize("NFC", value))[:limit]


def header_value(value: str) -> str:
    """A metadata value as HTTP headers carry it: ASCII as it is, anything else as an RFC 2047
    encoded word (the form S3 itself returns non-ASCII metadata in; botocore refuses non-ASCII)."""
    if value.isascii():
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode("ascii") + "?="


def header_text(value: str) -> str:
    """``header_value`` undone: an RFC 2047 encoded word decoded, anything else as it is."""
    # Imported here: only `screener review` reads metadata back, and the screening path's cold
    # start should not pay ~3 ms for the email package.
    from email.header import decode_header, make_header

    return str(make_header(decode_header(value)))


def is_valid_tag(key: str, value: str) -> bool:
    return (
        0 < len(key) <= MAX_KEY_LEN
        and len(value) <= MAX_VALUE_LEN
        and bool(_S3_TAG_CHARS.match(key))
        and bool(_S3_TAG_CHARS.match(value))
        and not key.lower().startswith("aws:")
    )


def _p(x: float) -> str:
    return f"{x:.2f}"


def _ladder(result: ScreenResult) -> list[tuple[Compaction, dict[str, str]]]:
    verdict = {NAMESPACE + "verdict": result.verdict.value}
    reasons = {NAMESPACE + "reasons": clean(" ".join(r.value for r in result.reasons) or "none")}
    model = {NAMESPACE + "model": clean(result.model_id or "unknown")}
    full = {**verdict, **model, **reasons}
    packed = dict(full)
    s = result.scores
    if s is not None:
        tops = result.top_labels()
        for head in ("background", "angle", "category"):
            if head in tops:
                label, p = tops[head]
                full[NAMESPACE + head] = clean(f"{label}:{_p(p)}")
        full[NAMESPACE + "crop"] = _p(s.crop_ok)
        full[NAMESPACE + "quality"] = _p(s.quality)
        packed[NAMESPACE + "scores"] = packed_scores(result)
    return [
        (Compaction.FULL, full),
        (Compaction.PACKED, packed),
        (Compaction.MINIMAL, {**verdict, **reasons}),
        (Compaction.VERDICT, verdict),
        (Compaction.NONE, {}),
    ]


def packed_scores(result: ScreenResult) -> str:
    if result.scores is None:
        return ""
    tops = result.top_labels()
    parts = [f"bg={tops['background'][0]}:{_p(tops['background'][1])}",
             f"angle={tops['angle'][0]}:{_p(tops['angle'][1])}",
             f"crop={_p(result.scores.crop_ok)}", f"quality={_p(result.scores.quality)}"]
    if "category" in tops:
        parts.append(f"cat={tops['category'][0]}:{_p(tops['category'][1])}")
    return clean(" ".join(parts))


def plan_tags(existing: Mapping[str, str], result: ScreenResult) -> TagPlan:
    """Merge the screening into the uploader's tags, compacting down the ladder as needed."""
    kept = {k: v for k, v in existing.items() if not k.startswith(NAMESPACE)}
    room = MAX_TAGS - len(kept)
    for level, ours in _ladder(result):
        if len(ours) <= room:
            break
    metadata: dict[str, str] = {}
    if level not in (Compaction.FULL, Compaction.PACKED):
        metadata = {
            METADATA_PREFIX + "verdict": result.verdict.value,
            METADATA_PREFIX + "reasons": clean(" ".join(r.value for r in result.reasons) or "none"),
            METADATA_PREFIX + "model": clean(result.model_id or "unknown"),
        }
        if result.scores is not None:
            metadata[METADATA_PREFIX + "scores"] = packed_scores(result)
    return TagPlan(tags={**kept, **ours}, level=level, metadata=metadata)


def fit_metadata(existing: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The entries of ``extra`` (in order of importance) that fit beside ``existing`` in 2 KB."""
    used = sum(len(k.encode()) + len(v.encode()) for k, v in existing.items())
    out: dict[str, str] = {}
    for k, v in extra.items():
        cost = len(k.encode()) + len(v.encode())
        if used + cost <= MAX_METADATA_BYTES:
            out[k] = v
            used += cost
    return out


def encode_tagging(tags: Mapping[str, str]) -> str:
    """``k1=v1&k2=v2`` with RFC 3986 escaping (a literal '+' must travel as %2B)."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in tags.items())


# -- reading a screening back (used by the backfill to skip objects this model already screened) --

@dataclass(frozen=True)
class PriorScreening:
    """What an object's tags say about an earlier screening."""

    verdict: str  # "approved" | "review"
    model_id: str | None  # None when compaction left the model out of the tags
    reasons: tuple[str, ...]
    category: str | None


def read_screening(tags: Mapping[str, str]) -> PriorScreening | None:
    """Parse the ``screen:`` tags written by ``plan_tags``; None when there is no verdict tag."""
    verdict = tags.get(NAMESPACE + "verdict")
    if verdict not in ("approved", "review"):
        return None
    reasons = tuple(r for r in tags.get(NAMESPACE + "reasons", "").split() if r != "none")
    category = None
    if NAMESPACE + "category" in tags:
        category = tags[NAMESPACE + "category"].rsplit(":", 1)[0] or None
    else:  # PACKED: "... cat=footwear:0.80"
        for part in tags.get(NAMESPACE + "scores", "").split():
            if part.startswith("cat="):
                category = part[4:].rsplit(":", 1)[0] or None
    return PriorScreening(verdict, tags.get(NAMESPACE + "model") or None, reasons, category)
