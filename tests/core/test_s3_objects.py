import pytest
from botocore.stub import ANY, Stubber

from screener.s3_objects import MoveOutcome, ObjectInfo, ObjectTooLarge, S3Objects, SourceChanged
from tests.fixtures import images
from tests.fixtures.s3 import BUCKET, Intercepted, client_error, keys

KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SRC = "incoming/shoes/red sneaker+1.jpg"
DST = "approved/shoes/red sneaker+1.jpg"


def put(s3, key=SRC, body=None, **kw):
    args = dict(Bucket=BUCKET, Key=key, Body=body if body is not None else images.good_jpeg(),
                ContentType="image/jpeg", Metadata={"sku": "A-1", "shot-by": "studio 4"},
                Tagging="owner=alice&campaign=spring%2B2025", StorageClass="STANDARD_IA",
                ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS, CacheControl="max-age=300",
                ContentDisposition="inline")
    args.update(kw)
    return s3.put_object(**args)


def test_head_absent_is_none(s3):
    assert S3Objects(s3).head(BUCKET, "incoming/nope.jpg") is None


def test_move_keeps_everything(s3):
    put(s3)
    o = S3Objects(s3)
    info = o.head(BUCKET, SRC)
    tags = {**o.get_tags(info), "screen:verdict": "approved"}
    res = o.move(info, DST, tags)
    assert res.outcome is MoveOutcome.MOVED and res.destination == DST
    assert keys(s3) == [DST]
    moved = o.head(BUCKET, DST)
    assert moved.metadata == {"sku": "A-1", "shot-by": "studio 4"}
    assert moved.content_type == "image/jpeg"
    assert moved.storage_class == "STANDARD_IA"
    assert (moved.sse, moved.kms_key_id) == ("aws:kms", KMS)
    assert moved.content_headers["CacheControl"] == "max-age=300"
    assert moved.etag == info.etag
    got = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=DST)["TagSet"]}
    assert got == {"owner": "alice", "campaign": "spring+2025", "screen:verdict": "approved"}


def test_move_with_screening_metadata_resends_every_header(s3):
    put(s3)
    o = S3Objects(s3)
    info = o.head(BUCKET, SRC)
    req = o.copy_request(info, DST, {"a": "b"}, {"screen-verdict": "review"})
    assert req["MetadataDirective"] == "REPLACE"
    assert o.move(info, DST, {"a": "b"}, {"screen-verdict": "review"}).outcome is MoveOutcome.MOVED
    moved = o.head(BUCKET, DST)
    assert moved.metadata == {"sku": "A-1", "shot-by": "studio 4", "screen-verdict": "review"}
    assert moved.content_type == "image/jpeg"
    assert moved.content_headers == {"CacheControl": "max-age=300", "ContentDisposition": "inline"}
    assert (moved.sse, moved.kms_key_id, moved.storage_class) == ("aws:kms", KMS, "STANDARD_IA")


def test_copy_is_conditional_on_the_screened_etag_and_version():
    info = ObjectInfo(BUCKET, SRC, 10, '"abc"', "v1", sse="AES256")
    req = S3Objects(None).copy_request(info, DST, {"k": "v w"})
    assert req["CopySourceIfMatch"] == '"abc"'
    assert req["CopySource"] == {"Bucket": BUCKET, "Key": SRC, "VersionId": "v1"}
    assert req["TaggingDirective"] == "REPLACE" and req["Tagging"] == "k=v%20w"
    assert req["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in req


def test_reupload_during_screening_is_superseded_and_nothing_deleted(s3):
    """moto ignores CopySourceIfMatch, so the 412 a real S3 returns is stubbed here."""
    info = ObjectInfo(BUCKET, SRC, 10, '"screened"', None)
    stubber = Stubber(s3)
    stubber.add_client_error("copy_object", "PreconditionFailed", http_status_code=412,
                             expected_params={"Bucket": BUCKET, "Key": DST, "CopySource": ANY,
                                              "CopySourceIfMatch": '"screened"', "TaggingDirective": "REPLACE",
                                              "Tagging": ANY, "MetadataDirective": "COPY"})
    with stubber:
        res = S3Objects(s3).move(info, DST, {})
    stubber.assert_no_pending_responses()  # no delete_object was attempted
    assert res.outcome is MoveOutcome.SUPERSEDED


def test_reupload_between_copy_and_delete_keeps_the_new_upload(s3):
    put(s3)
    new_body = images.dark_jpeg()

    def reupload(kwargs):
        s3.put_object(Bucket=BUCKET, Key=SRC, Body=new_body)

    o = S3Objects(Intercepted(s3, delete_object=reupload))
    info = o.head(BUCKET, SRC)
    res = o.move(info, DST, {})
    assert res.outcome is MoveOutcome.COPIED_SOURCE_CHANGED
    assert keys(s3) == [DST, SRC]  # the new upload waits for its own event
    assert s3.get_object(Bucket=BUCKET, Key=SRC)["Body"].read() == new_body


def test_server_without_conditional_delete_falls_back_to_recheck(s3):
    put(s3)

    def reject(kwargs):
        if "IfMatch" in kwargs:
            raise client_error("NotImplemented", 501, "DeleteObject")

    client = Intercepted(s3, delete_object=reject)
    o = S3Objects(client)
    res = o.move(o.head(BUCKET, SRC), DST, {})
    assert res.outcome is MoveOutcome.MOVED
    assert keys(s3) == [DST]
    assert client.ops().count("delete_object") == 2


def test_copy_failure_propagates_and_source_is_kept(s3):
    put(s3)

    def fail(kwargs):
        raise client_error("InternalError", 500, "CopyObject")

    o = S3Objects(Intercepted(s3, copy_object=fail))
    with pytest.raises(Exception):
        o.move(o.head(BUCKET, SRC), DST, {})
    assert keys(s3) == [SRC]


def test_read_is_capped_and_pinned(s3):
    put(s3, body=b"x" * 5000)
    client = Intercepted(s3)
    o = S3Objects(client)
    info = o.head(BUCKET, SRC)
    assert o.read(info, 5000) == b"x" * 5000
    assert client.calls[-1][1]["IfMatch"] == info.etag
    with pytest.raises(ObjectTooLarge):
        o.read(info, 4999)
    s3.put_object(Bucket=BUCKET, Key=SRC, Body=b"changed")
    with pytest.raises(SourceChanged):
        o.read(info, 5000)


def test_versioned_bucket_moves_the_screened_version_only(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    put(s3)
    o = S3Objects(s3)
    info = o.head(BUCKET, SRC)
    assert info.version_id
    client = Intercepted(s3)
    res = S3Objects(client).move(info, DST, {"screen:verdict": "approved"})
    assert res.outcome is MoveOutcome.MOVED
    copy = dict(client.calls)["copy_object"]
    assert copy["CopySource"]["VersionId"] == info.version_id
    assert keys(s3) == [DST]
    # The screened version is kept as a noncurrent version under a delete marker (expired by
    # the lifecycle rule), so no older version can resurface under incoming/.
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="incoming/")
    assert [v["VersionId"] for v in versions["Versions"]] == [info.version_id]
    assert len(versions["DeleteMarkers"]) == 1
