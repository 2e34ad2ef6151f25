from screener.config import load_config
from screener.process import process_object
from screener.reasons import Reason
from screener.s3_objects import MoveOutcome, S3Objects
from screener.tags import Compaction
from tests.fixtures import images
from tests.fixtures.s3 import BUCKET, Intercepted, keys


def tags_of(s3, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}


def test_good_photo_approved_and_tagged(s3, classifier, config):
    s3.put_object(Bucket=BUCKET, Key="incoming/a/good one.jpg", Body=images.good_jpeg(), Tagging="owner=bob")
    out = process_object(S3Objects(s3), classifier, config, BUCKET, "incoming/a/good one.jpg")
    assert out.outcome is MoveOutcome.MOVED and out.destination == "approved/a/good one.jpg"
    assert keys(s3) == ["approved/a/good one.jpg"]
    t = tags_of(s3, out.destination)
    assert t["owner"] == "bob" and t["screen:verdict"] == "approved" and t["screen:model"] == "tiny-test@1.0"
    assert out.tag_level is Compaction.FULL


def test_bad_photo_to_review_and_duplicate_event_is_noop(s3, classifier, config):
    s3.put_object(Bucket=BUCKET, Key="incoming/x.jpg", Body=b"not an image")
    objects = S3Objects(s3)
    first = process_object(objects, classifier, config, BUCKET, "incoming/x.jpg")
    assert first.destination == "review/x.jpg" and first.result.reasons == (Reason.NOT_AN_IMAGE,)
    assert tags_of(s3, "review/x.jpg")["screen:reasons"] == "not-an-image"
    again = process_object(objects, classifier, config, BUCKET, "incoming/x.jpg")
    assert again.outcome is MoveOutcome.DUPLICATE and again.destination == "review/x.jpg"
    assert keys(s3) == ["review/x.jpg"]


def test_missing_source_without_destination(s3, classifier, config):
    out = process_object(S3Objects(s3), classifier, config, BUCKET, "incoming/gone.jpg")
    assert out.outcome is MoveOutcome.MISSING and keys(s3) == []


def test_stale_event_etag_is_superseded(s3, classifier, config):
    s3.put_object(Bucket=BUCKET, Key="incoming/p.jpg", Body=images.good_jpeg())
    out = process_object(S3Objects(s3), classifier, config, BUCKET, "incoming/p.jpg", etag="0123456789abcdef")
    assert out.outcome is MoveOutcome.SUPERSEDED and keys(s3) == ["incoming/p.jpg"]


def test_stale_event_version_is_superseded(s3, classifier, config):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=BUCKET, Key="incoming/p.jpg", Body=images.good_jpeg())["VersionId"]
    v2 = s3.put_object(Bucket=BUCKET, Key="incoming/p.jpg", Body=images.dark_jpeg())["VersionId"]
    objects = S3Objects(s3)
    stale = process_object(objects, classifier, config, BUCKET, "incoming/p.jpg", version_id=v1)
    assert stale.outcome is MoveOutcome.SUPERSEDED and keys(s3) == ["incoming/p.jpg"]
    fresh = process_object(objects, classifier, config, BUCKET, "incoming/p.jpg", version_id=v2)
    assert fresh.destination == "review/p.jpg" and fresh.result.reasons == (Reason.BACKGROUND,)
    assert keys(s3) == ["review/p.jpg"]  # and v1 never resurfaces under incoming/


def test_over_cap_object_is_never_downloaded(s3, classifier, tiny_model_dir):
    config = load_config({"MODEL_DIR": str(tiny_model_dir), "MAX_IMAGE_BYTES": "2048"})
    s3.put_object(Bucket=BUCKET, Key="incoming/big.jpg", Body=images.good_jpeg())
    client = Intercepted(s3)
    out = process_object(S3Objects(client), classifier, config, BUCKET, "incoming/big.jpg")
    assert "get_object" not in client.ops()
    assert out.destination == "review/big.jpg" and out.result.reasons == (Reason.TOO_LARGE_BYTES,)


def test_uploader_with_ten_tags_keeps_them_and_verdict_goes_to_metadata(s3, classifier, config):
    ten = "&".join(f"t{i}=v{i}" for i in range(10))
    s3.put_object(Bucket=BUCKET, Key="incoming/t.jpg", Body=images.dark_jpeg(), Tagging=ten, Metadata={"sku": "9"})
    out = process_object(S3Objects(s3), classifier, config, BUCKET, "incoming/t.jpg")
    assert out.tag_level is Compaction.NONE
    assert tags_of(s3, "review/t.jpg") == {f"t{i}": f"v{i}" for i in range(10)}
    meta = s3.head_object(Bucket=BUCKET, Key="review/t.jpg")["Metadata"]
    assert meta["sku"] == "9" and meta["screen-verdict"] == "review" and meta["screen-reasons"] == "background"
