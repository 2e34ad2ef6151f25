"""A person's decision on a review/ photo, as tags: screener.review's pure half."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from screener.review import (
    DECISION_METADATA,
    DECISION_TAG,
    ReviewDecision,
    ReviewRecord,
    decided_tags,
    queue_entry,
)
from screener.tags import MAX_TAGS, is_valid_tag

AT = datetime(2026, 12, 2, 1, 30, 45, tzinfo=timezone.utc)
SCREENED = {  # the FULL rung the upload function writes
    "screen:verdict": "review", "screen:model": "product-photo-qa@1.7.0", "screen:reasons": "crop quality",
    "screen:background": "white:0.99", "screen:angle": "side:0.55", "screen:category": "furniture:0.49",
    "screen:crop": "0.12", "screen:quality": "0.41",
}


def approve(note: str = "", by: str = "alice@studio") -> ReviewRecord:
    return ReviewRecord(ReviewDecision.APPROVE, by, AT, note)


def test_the_record_says_who_decided_what_and_when_in_s3_tag_characters():
    assert approve().text == "approved by alice@studio at 2026-12-02T01:30Z"
    local = AT.astimezone(timezone(timedelta(hours=-5)))
    assert ReviewRecord(ReviewDecision.REJECT, "bob", local, "shadow cut, reshoot").text == (
        "rejected by bob at 2026-12-02T01:30Z: shadow cut_ reshoot")  # UTC whatever the clock's zone
    long = approve("x" * 400, by="a" * 100)
    assert len(long.text) == 256 and is_valid_tag(DECISION_TAG, long.text)


@pytest.mark.parametrize("name", ["", "   ", "!!!", ",;()"])
def test_a_decision_needs_a_name(name):
    with pytest.raises(ValueError, match="reviewer's name"):
        approve(by=name)


@pytest.mark.parametrize("name, note", [("李娜", "背景太暗"), ("Zoë Müller", "très bien"), ("Дмитрий", "ок")])
def test_a_name_or_note_in_any_script_keeps_its_letters_in_the_tag_and_travels_as_ascii_metadata(name, note):
    """S3 takes letters of any script in tag values; metadata are HTTP headers, ASCII only
    (botocore refuses anything else), so there the record is an RFC 2047 encoded word, which
    decodes back to the tag's text."""
    from email.header import decode_header

    record = approve(note, by=name)
    assert record.text == f"approved by {name} at 2026-12-02T01:30Z: {note}"
    assert is_valid_tag(DECISION_TAG, record.text)
    meta = decided_tags(SCREENED, record).metadata[DECISION_METADATA]
    assert meta.isascii() and meta.startswith("=?UTF-8?B?")
    (raw, charset), = decode_header(meta)
    assert raw.decode(charset) == record.text
    assert approve(by="alice").metadata_text == approve(by="alice").text  # ASCII stays as it is


def test_a_decomposed_accent_is_composed_not_replaced():
    assert approve(by="Zoe\u0308").text.startswith("approved by Zoë at")


def test_approval_flips_the_verdict_and_keeps_the_reasons_it_overruled():
    d = decided_tags({"uploader": "studio-4", **SCREENED}, approve())
    assert d.tags["screen:verdict"] == "approved" and d.tags["screen:reasons"] == "crop quality"
    assert d.tags[DECISION_TAG] == approve().text and d.tags["uploader"] == "studio-4"
    assert d.metadata == {DECISION_METADATA: approve().text}
    assert len(d.tags) == 10


def test_rejection_keeps_the_verdict_review():
    d = decided_tags(SCREENED, ReviewRecord(ReviewDecision.REJECT, "bob", AT))
    assert d.tags["screen:verdict"] == "review" and d.tags[DECISION_TAG].startswith("rejected by bob")


def test_with_no_room_the_screenings_scores_give_way_to_the_metadata_never_the_uploaders_tags():
    uploader = {"uploader": "studio-4", "campaign": "spring"}
    d = decided_tags({**uploader, **SCREENED}, approve())  # 2 + 8 = 10: one must go
    assert len(d.tags) == MAX_TAGS and "screen:category" not in d.tags
    assert d.metadata["screen-category"] == "furniture:0.49"
    assert all(d.tags[k] == v for k, v in uploader.items())
    nine = {f"u{i}": "x" for i in range(9)}
    d = decided_tags({**nine, **SCREENED}, approve())
    assert set(d.tags) == set(nine) | {DECISION_TAG}  # every screening tag made way, verdict last
    assert d.metadata["screen-verdict"] == "approved" and d.metadata["screen-reasons"] == "crop quality"


def test_an_uploader_using_all_ten_tags_keeps_them_and_the_decision_goes_to_metadata():
    ten = {f"u{i}": "x" for i in range(10)}
    d = decided_tags(ten, approve())
    assert d.tags == ten and d.metadata == {DECISION_METADATA: approve().text}


def test_a_second_decision_replaces_the_first():
    first = decided_tags(SCREENED, ReviewRecord(ReviewDecision.REJECT, "bob", AT)).tags
    second = decided_tags(first, approve("reshot")).tags
    assert second[DECISION_TAG] == approve("reshot").text and len(second) == len(first)


@pytest.mark.parametrize("uploader_tags", range(11))
def test_every_tag_set_is_one_s3_accepts(uploader_tags):
    existing = {**{f"u{i}": "x" for i in range(uploader_tags)}, **SCREENED}
    existing = dict(list(existing.items())[:10])  # what S3 could hold before
    d = decided_tags(existing, approve("ok " * 200))
    assert len(d.tags) <= MAX_TAGS and all(is_valid_tag(k, v) for k, v in d.tags.items())
    assert DECISION_TAG in d.tags or len([k for k in existing if k.startswith("u")]) == MAX_TAGS


def test_queue_entry_reads_the_full_and_the_packed_tags():
    e = queue_entry("review/a.jpg", 10, SCREENED)
    assert e.reasons == ("crop", "quality") and e.decision is None
    assert e.labels["background"] == "white:0.99" and e.labels["quality"] == "0.41"
    packed = {"screen:verdict": "review", "screen:reasons": "background",
              "screen:scores": "bg=other:0.64 angle=front:0.86 crop=0.90 quality=0.80 cat=other:0.66"}
    e = queue_entry("review/b.jpg", 10, {**packed, DECISION_TAG: "rejected by bob at 2026-12-02T01:30Z"})
    assert e.labels == {"background": "other:0.64", "angle": "front:0.86", "crop": "0.90", "quality": "0.80",
                        "category": "other:0.66"}
    assert e.decision.startswith("rejected")
    assert queue_entry("review/c.jpg", 10, {"screen:verdict": "review"}).reasons == ()


def test_the_queue_lists_the_longest_waiting_photo_first():
    from screener.config import Prefixes
    from screener.review import review_queue
    from screener.s3_objects import ListedObject

    class Listing:  # the two S3Objects calls review_queue makes
        def iter_objects(self, bucket, prefix):
            return iter([ListedObject("review/b.jpg", 1, '"b"', AT), ListedObject("review/", 0, '""', None),
                         ListedObject("review/c.jpg", 1, '"c"', None),
                         ListedObject("review/a.jpg", 1, '"a"', AT - timedelta(days=2))])

        def get_tags(self, info):
            return {"screen:verdict": "review", "screen:reasons": info.key[7]}

    queue = review_queue(Listing(), Prefixes(), "b")
    assert [e.key for e in queue] == ["review/a.jpg", "review/b.jpg", "review/c.jpg"]  # undated last, folder skipped
    assert queue[0].since == AT - timedelta(days=2) and queue[0].reasons == ("a",)


def test_what_the_tag_limit_pushed_into_metadata_is_read_back_for_the_queue():
    """An uploader with ten tags leaves the screening and the decision to the metadata: the queue
    reads them back from there (a name in another script decoded), and tags win over metadata."""
    from screener.review import needs_metadata, recorded

    uploader = {f"u{i}": "x" for i in range(10)}
    assert needs_metadata(uploader) and not needs_metadata({**SCREENED})
    record = ReviewRecord(ReviewDecision.REJECT, "李娜", AT, "reshoot")
    meta = {"sku": "OC-2", "screen-verdict": "review", "screen-reasons": "crop quality",
            "screen-background": "white:0.99", DECISION_METADATA: record.metadata_text}
    entry = queue_entry("review/a.jpg", 10, recorded(uploader, meta))
    assert entry.reasons == ("crop", "quality") and entry.labels == {"background": "white:0.99"}
    assert entry.decision == record.text
    assert recorded({"screen:reasons": "crop"}, {"screen-reasons": "quality"})["screen:reasons"] == "crop"
    assert "sku" not in recorded({}, meta) and "screen:sku" not in recorded({}, meta)
