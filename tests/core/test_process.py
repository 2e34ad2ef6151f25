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


# A destination prefix longer than incoming's can push a name that fits in incoming/ past S3's
# 1,024-byte key limit: such a photo cannot be published under its name.
LONG_NAME = "x" * 1006 + ".jpg"  # incoming/ + 1,010 bytes = 1,019: a key S3 holds


def test_approved_photo_whose_approved_name_is_too_long_goes_to_review(s3, classifier, tiny_model_dir):
    config = load_config({"MODEL_DIR": str(tiny_model_dir), "APPROVED_PREFIX": "approved-for-publishing/"})
    key = "incoming/" + LONG_NAME
    s3.put_object(Bucket=BUCKET, Key=key, Body=images.good_jpeg())
    objects = S3Objects(s3)
    out = process_object(objects, classifier, config, BUCKET, key)
    assert (out.outcome, out.destination) == (MoveOutcome.MOVED, "review/" + LONG_NAME)
    assert out.result.reasons == (Reason.KEY_TOO_LONG,)  # the model approved it; only the name did not
    assert keys(s3) == ["review/" + LONG_NAME]
    t = tags_of(s3, out.destination)
    assert (t["screen:verdict"], t["screen:reasons"]) == ("review", "key-too-long")
    again = process_object(objects, classifier, config, BUCKET, key)  # the event delivered twice
    assert (again.outcome, again.destination) == (MoveOutcome.DUPLICATE, "review/" + LONG_NAME)


def test_when_no_destination_name_fits_the_verdict_is_tagged_in_place(s3, classifier, tiny_model_dir):
    config = load_config({"MODEL_DIR": str(tiny_model_dir), "APPROVED_PREFIX": "approved-for-publishing/",
                          "REVIEW_PREFIX": "waiting-for-a-person/"})
    key = "incoming/" + LONG_NAME
    s3.put_object(Bucket=BUCKET, Key=key, Body=images.good_jpeg())
    out = process_object(S3Objects(s3), classifier, config, BUCKET, key)
    assert (out.outcome, out.destination) == (MoveOutcome.TAGGED_IN_PLACE, None)
    assert "1031 bytes" in out.detail  # waiting-for-a-person/ (21) + 1,010
    assert keys(s3) == [key]  # left where it was, not lost, and not retried for nothing
    t = tags_of(s3, key)
    assert (t["screen:verdict"], t["screen:reasons"]) == ("review", "key-too-long")
