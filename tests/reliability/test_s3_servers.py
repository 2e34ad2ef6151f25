"""The S3 semantics the move relies on, checked on moto AND on a real S3 server (SeaweedFS).

moto is fast but lenient (it ignores CopySourceIfMatch, so on moto the S3 rule is applied by a
stub in front of it); SeaweedFS enforces the preconditions and the tag limits itself. Every test
here runs on both through the ``store`` fixture; the race tests (test_races.py) do too.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from screener.s3_objects import MoveOutcome, S3Objects
from tests.fixtures import images
from tests.reliability import matrix
from tests.reliability.conftest import Lambda, md5

KEY = "incoming/catalog/red sneaker+1 (café).jpg"


def status(e: ClientError) -> int:
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_move_keeps_bytes_metadata_headers_tags_and_encryption(store):
    body = images.good_jpeg()
    store.put(KEY, body, ContentType="image/jpeg", Metadata={"sku": "RS-42", "shot-by": "studio 4"},
              Tagging="owner=alice&campaign=spring%2B2025", CacheControl="max-age=300",
              ContentDisposition="inline", ServerSideEncryption="AES256")
    [rec] = Lambda()(store.event(KEY))["records"]
    dest = "approved/catalog/red sneaker+1 (café).jpg"
    assert (rec["outcome"], rec["destination"]) == ("moved", dest)
    assert store.keys() == [dest]
    h = store.client.head_object(Bucket=store.bucket, Key=dest)
    assert h["ETag"] == md5(body) and store.body(dest) == body
    assert h["ContentType"] == "image/jpeg" and h["Metadata"] == {"sku": "RS-42", "shot-by": "studio 4"}
    assert h["CacheControl"] == "max-age=300" and h["ContentDisposition"] == "inline"
    assert h.get("ServerSideEncryption") == "AES256"
    tags = store.tags(dest)
    assert tags["owner"] == "alice" and tags["campaign"] == "spring+2025"
    assert tags["screen:verdict"] == "approved" and tags["screen:reasons"] == "none"


def test_moto_ignores_copy_source_if_match(moto_store):
    """Why the stub exists. If this starts failing, moto enforces the header: drop the stub."""
    c, b = moto_store.client, moto_store.bucket
    moto_store.put("incoming/a.jpg", b"one")
    c.copy_object(Bucket=b, Key="approved/a.jpg", CopySource={"Bucket": b, "Key": "incoming/a.jpg"},
                  CopySourceIfMatch='"0123456789abcdef0123456789abcdef"')
    assert moto_store.keys("approved/") == ["approved/a.jpg"]


def test_copy_is_refused_when_the_source_changed_since_screening(store):
    store.put(KEY, images.good_jpeg())
    objects = S3Objects(store.wrap(store.client))
    screened = objects.head(store.bucket, KEY)
    new = images.dark_jpeg()
    store.put(KEY, new)  # re-uploaded after HEAD
    res = objects.move(screened, "approved/x.jpg", {"screen:verdict": "approved"})
    assert res.outcome is MoveOutcome.SUPERSEDED
    assert store.keys() == [KEY] and store.body(KEY) == new  # nothing copied, nothing deleted


def test_conditional_delete_keeps_a_changed_object(store):
    store.put(KEY, b"first")
    with pytest.raises(ClientError) as e:
        store.client.delete_object(Bucket=store.bucket, Key=KEY, IfMatch=md5(b"other"))
    assert status(e.value) == 412
    assert store.keys() == [KEY]
    store.client.delete_object(Bucket=store.bucket, Key=KEY, IfMatch=md5(b"first"))
    assert store.keys() == []
    # On a key that is gone, S3 and moto answer 404, SeaweedFS 412; the move treats both as
    # "already deleted" (see test_regressions.py).
    with pytest.raises(ClientError) as e:
        store.client.delete_object(Bucket=store.bucket, Key=KEY, IfMatch=md5(b"first"))
    assert status(e.value) == {"moto": 404, "seaweedfs": 412}[store.kind]


def test_read_is_pinned_to_the_screened_etag(store):
    store.put(KEY, b"first")
    with pytest.raises(ClientError) as e:
        store.client.get_object(Bucket=store.bucket, Key=KEY, IfMatch=md5(b"other"))
    assert status(e.value) == 412


@pytest.mark.parametrize("how", ["put_object_tagging", "copy_object"])
def test_eleven_tags_are_rejected(store, how):
    store.put(KEY, b"x")
    eleven = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    with pytest.raises(ClientError) as e:
        if how == "put_object_tagging":
            store.client.put_object_tagging(Bucket=store.bucket, Key=KEY, Tagging={"TagSet": eleven})
        else:
            store.client.copy_object(Bucket=store.bucket, Key="approved/x", TaggingDirective="REPLACE",
                                     CopySource={"Bucket": store.bucket, "Key": KEY},
                                     Tagging="&".join(f"{t['Key']}={t['Value']}" for t in eleven))
    assert status(e.value) == 400


def test_an_uploader_with_ten_tags_keeps_them_and_the_verdict_goes_to_metadata(store):
    ten = {f"team{i}": f"value {i}" for i in range(10)}
    store.put(KEY, images.dark_jpeg(), Metadata={"sku": "9"}, Tagging="&".join(f"{k}={v}" for k, v in ten.items()))
    [rec] = Lambda()(store.event(KEY))["records"]
    dest = rec["destination"]
    assert rec["outcome"] == "moved" and rec["tag_level"] == "none" and dest.startswith("review/")
    assert store.tags(dest) == ten
    meta = store.client.head_object(Bucket=store.bucket, Key=dest)["Metadata"]
    assert meta["sku"] == "9" and meta["screen-verdict"] == "review" and meta["screen-reasons"] == "background"


@pytest.mark.parametrize("case_id", ["zero-bytes", "truncated-jpeg", "html-as-jpg", "heic", "animated-gif",
                                     "rgba-cutout", "bomb-40k", "over-byte-cap", "key-plus", "key-percent",
                                     "key-unicode", "key-1024-bytes"])
def test_bad_inputs_on_this_server(store, handler_env, case_id):
    case = matrix.by_id(case_id)
    handler_env.setenv("MAX_IMAGE_BYTES", str(matrix.MAX_BYTES))
    data = case.data()
    store.put(case.key, data, **({"ContentType": case.content_type} if case.content_type else {}))
    fn = Lambda(wrap=store.wrap)
    [rec] = fn(store.event(case.key))["records"]
    assert (rec["outcome"], rec["verdict"], tuple(rec["reasons"])) == ("moved", case.verdict, case.reasons)
    assert store.keys() == [rec["destination"]] and store.body(rec["destination"]) == data
    assert ("get_object" in fn.wrapped.ops()) == case.downloaded


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_weed_binary_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    from tests.fixtures import seaweedfs

    monkeypatch.setattr(seaweedfs, "weed_binary", lambda: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="weed binary is missing"):
        seaweedfs.require_weed()
