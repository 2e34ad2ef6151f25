"""The real handler on the real event files in events/, against moto S3 and a tiny real model."""
import json
import os
import subprocess
import sys

import pytest

from screener.config import ConfigError
from screener.deps import Dependencies
from screener.s3_objects import S3Objects
from tests.fixtures import images
from tests.fixtures.s3 import Intercepted, client_error
from tests.upload.conftest import EVENT_BUCKET as B, ROOT, SAMPLES, load_app, load_event

# The samples the event files' eTags were computed from (tiny model: table and cabinet on
# white are approved; the cushion on a busy dark backdrop goes to review for its background).
TABLE = (SAMPLES / "ceramic table - white studio three-quarter.jpg").read_bytes()
CUSHION = (SAMPLES / "boucle cushion - busy backdrop.jpg").read_bytes()
CABINET = (SAMPLES / "rattan cabinet - white studio.jpg").read_bytes()


def keys(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=B).get("Contents", []))


def tags(s3, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=B, Key=key)["TagSet"]}


def put(s3, key, body, **kw):
    s3.put_object(Bucket=B, Key=key, Body=body, **kw)


def test_single_upload(capsys, caplog, app, ctx, s3):
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE, ContentType="image/jpeg", Tagging="owner=studio-4")
    out = app.lambda_handler(load_event("single-upload.json"), ctx)
    [rec] = out["records"]
    assert rec["outcome"] == "moved" and rec["verdict"] == "approved"
    assert keys(s3) == ["approved/catalog/ceramic table.jpg"]
    t = tags(s3, "approved/catalog/ceramic table.jpg")
    assert t["owner"] == "studio-4" and t["screen:verdict"] == "approved" and t["screen:reasons"] == "none"
    log = next(r for r in caplog.records if r.getMessage() == "screened")  # structured fields
    assert log.key == "incoming/catalog/ceramic table.jpg" and log.verdict == "approved"
    assert log.timings_ms["total"] > 0 and log.destination == "approved/catalog/ceramic table.jpg"
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    emf = next(x for x in lines if "_aws" in x)  # CloudWatch embedded metric format
    assert emf["Screened"] == [1.0] and emf["Approved"] == [1.0] and emf["ScreenLatency"][0] > 0


def test_every_record_is_processed(app, ctx, s3):
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE)
    put(s3, "incoming/catalog/boucle cushion.jpg", CUSHION)
    put(s3, "incoming/catalog/rattan cabinet.jpg", CABINET)
    out = app.lambda_handler(load_event("several-records.json"), ctx)
    assert [r["outcome"] for r in out["records"]] == ["moved"] * 3
    assert keys(s3) == ["approved/catalog/ceramic table.jpg", "approved/catalog/rattan cabinet.jpg",
                        "review/catalog/boucle cushion.jpg"]
    assert tags(s3, "review/catalog/boucle cushion.jpg")["screen:reasons"] == "background"


def test_keys_are_url_decoded_exactly_once(app, ctx, s3):
    decoded = ["incoming/summer sale/table (2).jpg", "incoming/c++ set.jpg", "incoming/café/crème brûlée 100%.jpg"]
    for key, body in zip(decoded, (TABLE, CUSHION, CABINET)):
        put(s3, key, body)
    out = app.lambda_handler(load_event("encoded-keys.json"), ctx)
    assert [r["key"] for r in out["records"]] == decoded
    assert keys(s3) == sorted(["approved/summer sale/table (2).jpg", "review/c++ set.jpg",
                               "approved/café/crème brûlée 100%.jpg"])


def test_s3_test_event_is_skipped(app, ctx, s3):
    assert app.lambda_handler(load_event("test-event.json"), ctx) == {"records": []}


@pytest.mark.parametrize("event, key, skip", [
    ("folder-marker.json", "incoming/new season/", "folder marker"),
    ("outside-incoming.json", "approved/catalog/ceramic table.jpg", "outside incoming/"),
])
def test_records_that_are_not_ours_are_skipped(caplog, app, ctx, s3, event, key, skip):
    put(s3, key, b"" if key.endswith("/") else TABLE)
    out = app.lambda_handler(load_event(event), ctx)
    assert out["records"] == [{"key": key, "outcome": "skipped", "detail": skip}]
    assert keys(s3) == [key]  # untouched
    assert any(r.getMessage() == "skipped record" and r.skip == skip for r in caplog.records)


def test_bad_input_goes_to_review_with_a_reason(app, ctx, s3):
    put(s3, "incoming/catalog/ceramic table.jpg", b"<html>not a photo</html>")
    ev = load_event("single-upload.json")
    ev["Records"][0]["s3"]["object"].pop("eTag")  # the sample eTag is for the real photo
    out = app.lambda_handler(ev, ctx)
    assert out["records"][0]["reasons"] == ["not-an-image"]
    assert keys(s3) == ["review/catalog/ceramic table.jpg"]


def test_move_keeps_metadata_content_type_storage_class_and_kms(app, ctx, s3):
    kms = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE, ContentType="image/jpeg", Metadata={"sku": "RS-42"},
        StorageClass="STANDARD_IA", ServerSideEncryption="aws:kms", SSEKMSKeyId=kms, CacheControl="max-age=60")
    app.lambda_handler(load_event("single-upload.json"), ctx)
    h = s3.head_object(Bucket=B, Key="approved/catalog/ceramic table.jpg")
    assert h["Metadata"] == {"sku": "RS-42"} and h["ContentType"] == "image/jpeg"
    assert h["StorageClass"] == "STANDARD_IA" and h["CacheControl"] == "max-age=60"
    assert h["ServerSideEncryption"] == "aws:kms" and h["SSEKMSKeyId"] == kms


def test_tags_stay_within_limits_and_keep_the_uploaders(app, ctx, s3):
    mine = {f"team{i}": f"value {i}" for i in range(7)}
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE, Tagging="&".join(f"{k}={v}" for k, v in mine.items()))
    out = app.lambda_handler(load_event("single-upload.json"), ctx)
    t = tags(s3, out["records"][0]["destination"])
    assert len(t) == 9 and all(t[k] == v for k, v in mine.items())
    assert t["screen:verdict"] == "approved" and out["records"][0]["tag_level"] == "minimal"


def test_duplicate_event_is_a_noop(app, ctx, s3):
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE)
    ev = load_event("single-upload.json")
    app.lambda_handler(ev, ctx)
    again = app.lambda_handler(ev, ctx)
    assert again["records"][0]["outcome"] == "duplicate"
    assert keys(s3) == ["approved/catalog/ceramic table.jpg"]


def test_stale_event_after_reupload_leaves_the_new_upload(app, ctx, s3):
    put(s3, "incoming/catalog/ceramic table.jpg", CUSHION)  # re-uploaded: the event's eTag is the table's
    out = app.lambda_handler(load_event("single-upload.json"), ctx)
    assert out["records"][0]["outcome"] == "superseded"
    assert keys(s3) == ["incoming/catalog/ceramic table.jpg"]


def test_one_failing_record_loses_nothing_and_the_retry_converges(app, ctx, s3, monkeypatch):
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE)
    put(s3, "incoming/catalog/boucle cushion.jpg", CUSHION)
    put(s3, "incoming/catalog/rattan cabinet.jpg", CABINET)
    real = app.dependencies()

    def flaky(kwargs):
        if kwargs["CopySource"]["Key"] == "incoming/catalog/boucle cushion.jpg":
            raise client_error("SlowDown", 503, "CopyObject")

    broken = Dependencies(real.config, S3Objects(Intercepted(s3, copy_object=flaky)), real.classifier)
    monkeypatch.setattr(app, "dependencies", lambda: broken)
    with pytest.raises(app.RetryLater, match="1 of 3"):
        app.lambda_handler(load_event("several-records.json"), ctx)
    assert keys(s3) == ["approved/catalog/ceramic table.jpg", "approved/catalog/rattan cabinet.jpg",
                        "incoming/catalog/boucle cushion.jpg"]
    monkeypatch.setattr(app, "dependencies", lambda: real)  # Lambda's async retry redelivers the same event
    out = app.lambda_handler(load_event("several-records.json"), ctx)
    assert [r["outcome"] for r in out["records"]] == ["duplicate", "moved", "duplicate"]
    assert keys(s3) == ["approved/catalog/ceramic table.jpg", "approved/catalog/rattan cabinet.jpg",
                        "review/catalog/boucle cushion.jpg"]


def test_bad_config_fails_loudly_and_moves_nothing(app, ctx, s3, monkeypatch):
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE)
    monkeypatch.setenv("APPROVAL_POLICY", '{"allowed_backgrounds": ["purple"]}')
    with pytest.raises(ConfigError, match="purple"):
        app.lambda_handler(load_event("single-upload.json"), ctx)
    assert keys(s3) == ["incoming/catalog/ceramic table.jpg"]


def test_policy_from_environment_changes_the_verdict(app, ctx, s3, monkeypatch):
    monkeypatch.setenv("APPROVAL_POLICY", '{"allowed_backgrounds": ["white", "lifestyle", "other"]}')
    put(s3, "incoming/catalog/ceramic table.jpg", images.dark_jpeg())
    ev = load_event("single-upload.json")
    ev["Records"][0]["s3"]["object"].pop("eTag")
    out = app.lambda_handler(ev, ctx)
    assert out["records"][0]["verdict"] == "approved"


@pytest.mark.parametrize("setting, imported", [(None, False), ("false", False), ("true", True)])
def test_the_xray_sdk_is_imported_only_on_request(setting, imported):
    """Importing the X-Ray SDK costs ~180 ms of every cold start (README "Speed") and Lambda's
    active tracing needs none of it: the handler module imports it only for XRAY_SDK_TRACING=true.
    Nor does it import boto3 (~50 ms; the S3 client comes from botocore)."""
    env = {k: v for k, v in os.environ.items() if k != "XRAY_SDK_TRACING"}
    if setting is not None:
        env["XRAY_SDK_TRACING"] = setting
    code = ("import sys; sys.path.insert(0, 'functions/upload'); import app; "
            "print(*(m in sys.modules for m in ('aws_xray_sdk', 'boto3')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(imported), "False"]


def test_a_record_naming_its_object_get_object_is_read(app, ctx, s3):
    """IntelligentTiering notifications carry the object under 'get_object' (powertools' S3Event
    reads either): read, and skipped as not an upload."""
    ev = load_event("single-upload.json")
    rec = ev["Records"][0]
    rec["eventName"] = "IntelligentTiering"
    rec["s3"]["get_object"] = rec["s3"].pop("object")
    [out] = app.lambda_handler(ev, ctx)["records"]
    assert out["outcome"] == "skipped" and out["key"] == "incoming/catalog/ceramic table.jpg"


def test_the_handler_with_xray_sdk_tracing_behaves_the_same(app, ctx, s3, monkeypatch):
    monkeypatch.setenv("XRAY_SDK_TRACING", "true")  # POWERTOOLS_TRACE_DISABLED (conftest): no daemon here
    traced = load_app()
    assert traced.lambda_handler is not app.lambda_handler
    put(s3, "incoming/catalog/ceramic table.jpg", TABLE, ContentType="image/jpeg")
    [rec] = traced.lambda_handler(load_event("single-upload.json"), ctx)["records"]
    assert rec["outcome"] == "moved" and rec["verdict"] == "approved"
    assert keys(s3) == ["approved/catalog/ceramic table.jpg"]
