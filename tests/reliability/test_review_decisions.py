"""A person's decision on a review/ photo keeps the screener's guarantees, on moto and SeaweedFS:
an approval moves the photo to approved/ without loss, a rejection marks it where it is, and a
photo replaced while it was being decided is neither published nor marked."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from screener.config import Prefixes
from screener.review import DECISION_METADATA, DECISION_TAG, ReviewDecision, ReviewOutcome, ReviewRecord, apply_decision
from screener.review import review_queue
from screener.s3_objects import S3Objects
from tests.fixtures import images
from tests.reliability.conftest import Lambda, md5

AT = datetime(2026, 12, 2, 1, 30, tzinfo=timezone.utc)
APPROVE = ReviewRecord(ReviewDecision.APPROVE, "alice", AT, "backdrop is the brand's grey")
REJECT = ReviewRecord(ReviewDecision.REJECT, "bob", AT, "reshoot")
KEY = "review/catalog/oak chair (2).jpg"


def _in_review(store, body: bytes, tagging: str = "uploader=studio-4") -> None:
    """Upload to incoming/ and let the real handler send the photo to review/."""
    store.put("incoming/catalog/oak chair (2).jpg", body, ContentType="image/jpeg",
              Metadata={"sku": "OC-2"}, Tagging=tagging)
    [rec] = Lambda()(store.event("incoming/catalog/oak chair (2).jpg"))["records"]
    assert rec["destination"] == KEY


def test_an_approval_publishes_the_photo_byte_for_byte_with_the_decision_on_it(store):
    body = images.dark_jpeg()  # a dark backdrop: the screener sends it to review
    _in_review(store, body)
    before = store.tags(KEY)
    r = apply_decision(S3Objects(store.wrap(store.client)), Prefixes(), store.bucket, KEY, APPROVE)
    dest = "approved/catalog/oak chair (2).jpg"
    assert (r.outcome, r.destination) == (ReviewOutcome.APPROVED, dest)
    assert store.keys() == [dest] and store.body(dest) == body
    h = store.client.head_object(Bucket=store.bucket, Key=dest)
    assert h["ETag"] == md5(body) and h["ContentType"] == "image/jpeg"
    assert h["Metadata"]["sku"] == "OC-2" and h["Metadata"][DECISION_METADATA] == APPROVE.text
    tags = store.tags(dest)
    assert tags[DECISION_TAG] == APPROVE.text and tags["uploader"] == "studio-4"
    assert tags["screen:verdict"] == "approved" and tags["screen:reasons"] == before["screen:reasons"]


def test_an_uploader_with_nine_tags_keeps_them_and_the_verdict_in_metadata_turns_approved(store):
    nine = "&".join(f"u{i}=x" for i in range(9))
    _in_review(store, images.dark_jpeg(), nine)  # the screener could keep only its verdict tag
    assert store.client.head_object(Bucket=store.bucket, Key=KEY)["Metadata"]["screen-verdict"] == "review"
    r = apply_decision(S3Objects(store.wrap(store.client)), Prefixes(), store.bucket, KEY, APPROVE)
    assert r.outcome is ReviewOutcome.APPROVED
    meta = store.client.head_object(Bucket=store.bucket, Key=r.destination)["Metadata"]
    assert meta["screen-verdict"] == "approved" and meta[DECISION_METADATA] == APPROVE.text
    assert store.tags(r.destination) == {**{f"u{i}": "x" for i in range(9)}, DECISION_TAG: APPROVE.text}


def test_the_queue_shows_the_reasons_and_decision_an_uploaders_ten_tags_left_to_the_metadata(store):
    ten = "&".join(f"u{i}=x" for i in range(10))
    _in_review(store, images.dark_jpeg(), ten)  # no tag left for the screener: all of it is metadata
    [waiting] = review_queue(S3Objects(store.client), Prefixes(), store.bucket)
    assert waiting.reasons and waiting.labels and waiting.decision is None
    record = ReviewRecord(ReviewDecision.REJECT, "Zoë", AT, "reshoot")
    assert apply_decision(S3Objects(store.wrap(store.client)), Prefixes(), store.bucket, KEY, record).outcome \
        is ReviewOutcome.REJECTED
    assert store.tags(KEY) == {f"u{i}": "x" for i in range(10)}
    [decided] = review_queue(S3Objects(store.client), Prefixes(), store.bucket)
    assert decided.decision == record.text and decided.reasons == waiting.reasons


def test_a_rejection_leaves_the_photo_in_review_marked(store):
    body = images.dark_jpeg()
    _in_review(store, body)
    r = apply_decision(S3Objects(store.wrap(store.client)), Prefixes(), store.bucket, KEY, REJECT)
    assert r.outcome is ReviewOutcome.REJECTED
    assert store.keys() == [KEY] and store.body(KEY) == body
    h = store.client.head_object(Bucket=store.bucket, Key=KEY)
    assert h["ETag"] == md5(body) and h["ContentType"] == "image/jpeg" and h["Metadata"]["sku"] == "OC-2"
    assert store.tags(KEY)[DECISION_TAG] == REJECT.text and store.tags(KEY)["screen:verdict"] == "review"
    [entry] = review_queue(S3Objects(store.client), Prefixes(), store.bucket)
    assert entry.key == KEY and entry.decision == REJECT.text and entry.reasons


@pytest.mark.parametrize("decision", list(ReviewDecision), ids=lambda d: d.value)
def test_a_reviewer_named_in_another_script_is_recorded_in_full(store, decision):
    """The tag keeps the letters (S3 takes letters of any script in tag values); the metadata, an
    HTTP header, carries the same text as an RFC 2047 encoded word, which the server stores as is."""
    from email.header import decode_header

    record = ReviewRecord(decision, "李娜", AT, "Hintergrund zu dunkel")
    _in_review(store, images.dark_jpeg())
    r = apply_decision(S3Objects(store.wrap(store.client)), Prefixes(), store.bucket, KEY, record)
    dest = r.destination or KEY
    assert store.tags(dest)[DECISION_TAG] == record.text == "%s by 李娜 at 2026-12-02T01:30Z: Hintergrund zu dunkel" % decision.value
    meta = store.client.head_object(Bucket=store.bucket, Key=dest)["Metadata"][DECISION_METADATA]
    (raw, charset), = decode_header(meta)
    assert raw.decode(charset) == record.text


@pytest.mark.parametrize("record", [APPROVE, REJECT], ids=["approve", "reject"])
def test_a_photo_replaced_while_being_decided_is_neither_published_nor_marked(store, record):
    store.put(KEY, images.dark_jpeg(), Tagging="screen:verdict=review")
    newer = images.good_jpeg()

    def replace_first(kwargs: dict) -> None:  # the screener moves a newer photo to the same name
        if not replaced:
            replaced.append(store.put(KEY, newer, Tagging="screen:verdict=review&screen:reasons=crop"))

    replaced: list[str] = []
    objects = S3Objects(store.wrap(store.client, copy_object=replace_first))
    r = apply_decision(objects, Prefixes(), store.bucket, KEY, record)
    assert r.outcome is ReviewOutcome.CHANGED
    assert store.keys() == [KEY] and store.body(KEY) == newer
    assert store.tags(KEY) == {"screen:verdict": "review", "screen:reasons": "crop"}


def test_only_review_photos_are_decided_and_a_missing_one_is_said_so(store):
    store.put("approved/x.jpg", images.good_jpeg())
    objects = S3Objects(store.client)
    assert apply_decision(objects, Prefixes(), store.bucket, "approved/x.jpg", REJECT).outcome is ReviewOutcome.NOT_IN_REVIEW
    assert apply_decision(objects, Prefixes(), store.bucket, "review/gone.jpg", APPROVE).outcome is ReviewOutcome.MISSING
    store.put("review/catalog/", b"")  # a console-made folder marker is no photo
    assert apply_decision(objects, Prefixes(), store.bucket, "review/catalog/", APPROVE).outcome is ReviewOutcome.NOT_IN_REVIEW
    assert store.keys("approved/") == ["approved/x.jpg"]
    assert store.tags("approved/x.jpg") == {}


def test_a_photo_approved_but_too_long_a_name_for_approved_is_left_untouched(store):
    # 1,014 bytes, in segments SeaweedFS accepts: fits under review/, not under a longer prefix.
    key = "review/" + "/".join(["k" * 250] * 4) + ".jpg"
    store.put(key, images.good_jpeg(), Tagging="screen:verdict=review")
    long_approved = Prefixes(incoming="incoming/", approved="published-after-review/", review="review/")
    r = apply_decision(S3Objects(store.wrap(store.client)), long_approved, store.bucket, key, APPROVE)
    assert r.outcome is ReviewOutcome.UNMOVABLE
    assert store.keys() == [key] and store.tags(key) == {"screen:verdict": "review"}
