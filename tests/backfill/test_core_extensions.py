"""The small additions the backfill made to the shared core: reading tags back, listing, small files."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from screener.classifier import Scores
from screener.policy import Decision, Verdict
from screener.reasons import Reason
from screener.s3_objects import S3Objects
from screener.screening import ScreenResult, refused
from screener.tags import PriorScreening, plan_tags, read_screening

SCORES = Scores(background={"white": 0.9, "lifestyle": 0.05, "other": 0.05},
                angle={"front": 0.9, "side": 0.05, "angle": 0.03, "detail": 0.02},
                crop_ok=0.9, quality=0.8, category={"footwear": 0.7, "bags": 0.3})


@pytest.mark.parametrize("room", [10, 7, 3, 2])
def test_read_screening_inverts_plan_tags_at_every_compaction_level(room):
    result = ScreenResult(Decision(Verdict.REVIEW, (Reason.CROP, Reason.QUALITY)), SCORES, None, {}, "m@2")
    uploader = {f"u{i}": "x" for i in range(10 - room)}
    prior = read_screening(plan_tags(uploader, result).tags)
    assert prior.verdict == "review" and prior.reasons == ("crop", "quality")
    if room >= 4:  # FULL and PACKED keep model and category; MINIMAL (2 tags) does not
        assert prior.model_id == "m@2" and prior.category == "footwear"
    else:
        assert prior.model_id is None


def test_read_screening_of_approved_and_unscreened():
    approved = ScreenResult(Decision(Verdict.APPROVED, ()), SCORES, None, {}, "m@2")
    assert read_screening(plan_tags({}, approved).tags) == PriorScreening("approved", "m@2", (), "footwear")
    assert read_screening({"owner": "a"}) is None
    assert read_screening(plan_tags({}, refused(Reason.EMPTY, "m@2")).tags).reasons == ("empty",)


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        c = boto3.client("s3", region_name="us-east-1")
        c.create_bucket(Bucket="bkt")
        yield c


def test_list_pages_follow_continuation_tokens(s3):
    for i in range(7):
        s3.put_object(Bucket="bkt", Key=f"p/{i}.jpg", Body=b"x" * i)
    s3.put_object(Bucket="bkt", Key="q/other.jpg", Body=b"x")
    o = S3Objects(s3)
    first = o.list_page("bkt", "p/", max_keys=3)
    assert [x.key for x in first.objects] == ["p/0.jpg", "p/1.jpg", "p/2.jpg"] and first.next_token
    assert first.objects[2].size == 2
    assert [x.key for x in o.iter_objects("bkt", "p/")] == [f"p/{i}.jpg" for i in range(7)]
    assert o.list_page("bkt", "none/").objects == () and o.list_page("bkt", "none/").next_token is None


def test_put_bytes_if_absent_and_get_bytes(s3):
    o = S3Objects(s3)
    assert o.put_bytes("bkt", "r/m.json", b"one", "application/json", if_absent=True) is True
    assert o.put_bytes("bkt", "r/m.json", b"two", "application/json", if_absent=True) is False
    assert o.get_bytes("bkt", "r/m.json") == b"one"
    assert o.put_bytes("bkt", "r/m.json", b"three") is True and o.get_bytes("bkt", "r/m.json") == b"three"
    assert o.get_bytes("bkt", "r/absent") is None
