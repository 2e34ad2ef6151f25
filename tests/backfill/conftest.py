"""Fixtures: moto S3 + SQS, the real backfill handler module, and a catalog of small photos."""
from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from tests.fixtures.images import dark_jpeg, encode, flat_jpeg, good_jpeg, product

ROOT = Path(__file__).resolve().parents[2]
REAL_MODEL = ROOT / "layers" / "model"
BUCKET = "catalog"
GHOST = "ghost-bucket"  # on the allow-list but never created: every call to it fails


@pytest.fixture(scope="session")
def model_dir(tiny_model_dir) -> Path:
    """The real model when it has been built into the model layer, else the tiny real ONNX fixture."""
    return REAL_MODEL if (REAL_MODEL / "manifest.json").exists() else tiny_model_dir


@pytest.fixture
def aws(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket="foreign")
        dlq = sqs.create_queue(QueueName="backfill-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue = sqs.create_queue(QueueName="backfill", Attributes={
            "VisibilityTimeout": "1",  # the template's is minutes; tests wait out retries in seconds
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        })["QueueUrl"]
        yield type("Aws", (), {"s3": s3, "sqs": sqs, "queue": queue, "dlq": dlq})


def load_app(monkeypatch, aws, model_dir, **env):
    """Import functions/backfill/app.py afresh, as a Lambda cold start would, under ``env``."""
    base = {
        "MODEL_DIR": str(model_dir),
        "BACKFILL_BUCKETS": f"{BUCKET},{GHOST}",
        "BACKFILL_QUEUE_URL": aws.queue,
        "BACKFILL_DLQ_URL": aws.dlq,
        "BACKFILL_KEYS_PER_MESSAGE": "3",
        "BACKFILL_PAGE_SIZE": "7",
        "BACKFILL_PREFETCH": "2",
        "BACKFILL_IO_THREADS": "4",
        "BACKFILL_MIN_REMAINING_MS": "0",
        "POWERTOOLS_METRICS_NAMESPACE": "test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    base.update(env)
    for k, v in base.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    name = "backfill_app_under_test"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / "backfill" / "app.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def app(monkeypatch, aws, model_dir):
    mod = load_app(monkeypatch, aws, model_dir)
    yield mod
    mod.BACKFILL.deps.pool.shutdown(wait=True)


def corrupt_jpeg() -> bytes:
    return good_jpeg(size=(600, 600), seed=99)[:2000]  # header fine, pixel data cut short


def png_rgba() -> bytes:
    im = product(size=(600, 600), seed=5).convert("RGBA")
    return encode(im, "PNG")


def catalog_photos(n: int) -> dict[str, bytes]:
    """n varied small photos: good, dark backdrop, featureless, corrupt, not an image, PNG."""
    makers = [
        lambda i: good_jpeg(size=(600, 600), seed=i),
        lambda i: dark_jpeg(size=(600, 600), seed=i),
        lambda i: flat_jpeg(size=(600, 600)),
        lambda i: corrupt_jpeg(),
        lambda i: b"<html>not a photo</html>",
        lambda i: png_rgba(),
    ]
    return {f"skus/{i:04d}.jpg": makers[i % len(makers)](i) for i in range(n)}


def put_all(s3, photos: dict[str, bytes], bucket: str = BUCKET) -> None:
    for k, v in photos.items():
        s3.put_object(Bucket=bucket, Key=k, Body=v, ContentType="image/jpeg" if k.endswith(".jpg") else "image/png")


def tags_of(s3, key: str, bucket: str = BUCKET) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def seed_body(**kw) -> str:
    d = {"bucket": BUCKET, "prefix": "skus/", "mode": "tag", "run_id": "run1", "force": False}
    d.update(kw)
    return json.dumps(d)


def sqs_event(*bodies: str, ids: list[str] | None = None) -> dict:
    ids = ids or [f"msg-{i}" for i in range(len(bodies))]
    return {"Records": [{
        "messageId": mid, "receiptHandle": f"rh-{mid}", "body": b,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:backfill", "awsRegion": "us-east-1",
    } for mid, b in zip(ids, bodies)]}


def drain(sqs, url: str, max_n: int = 100) -> list[dict]:
    out = []
    while len(out) < max_n:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        out.extend(msgs)
    return out


def jpeg_ok(data: bytes) -> bool:
    try:
        Image.open(io.BytesIO(data)).verify()
        return True
    except Exception:
        return False
