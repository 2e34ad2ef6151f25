"""The sample events in events/backfill-*.json, run through the real handler against moto."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import drain, load_app, tags_of
from tests.fixtures.images import dark_jpeg, good_jpeg

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "product-photos-123456789012-us-east-1"  # what the template's allow-list resolves to locally


@pytest.fixture
def app(monkeypatch, aws, model_dir):
    aws.s3.create_bucket(Bucket=BUCKET)
    mod = load_app(monkeypatch, aws, model_dir, BACKFILL_BUCKETS=BUCKET, BACKFILL_PAGE_SIZE="1000",
                   BACKFILL_KEYS_PER_MESSAGE="20")
    yield mod
    mod.BACKFILL.deps.pool.shutdown(wait=True)


def event(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


class Ctx:
    function_name, memory_limit_in_mb, aws_request_id = "backfill", 1769, "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:backfill"

    def get_remaining_time_in_millis(self):
        return 120_000


def test_seed_event_fans_out_the_catalog(aws, app):
    for i in range(45):
        aws.s3.put_object(Bucket=BUCKET, Key=f"catalog/x/{i:03d}.jpg", Body=b"x")
    assert app.lambda_handler(event("backfill-seed.json"), Ctx()) == {"batchItemFailures": []}
    sent = [json.loads(m["Body"]) for m in drain(aws.sqs, aws.queue)]
    assert sorted(len(m["objects"]) for m in sent) == [5, 20, 20] and {m["kind"] for m in sent} == {"work"}
    assert all(m["run_id"] == "catalog-2026-01" for m in sent)


def test_mixed_batch_event(aws, app):
    aws.s3.put_object(Bucket=BUCKET, Key="catalog/living-room/SKU-100001.jpg", Body=good_jpeg())
    aws.s3.put_object(Bucket=BUCKET, Key="catalog/bedroom/SKU 100002 (v2).jpg", Body=dark_jpeg())
    resp = app.lambda_handler(event("backfill-batch.json"), Ctx())
    # Work screened, TestEvent acknowledged, the foreign-bucket seed and the non-JSON body dead-lettered.
    assert resp == {"batchItemFailures": []}
    assert tags_of(aws.s3, "catalog/bedroom/SKU 100002 (v2).jpg", BUCKET)["screen:verdict"] == "review"
    assert "screen:verdict" in tags_of(aws.s3, "catalog/living-room/SKU-100001.jpg", BUCKET)
    dead = drain(aws.sqs, aws.dlq)
    assert sorted(m["Body"][:8] for m in dead) == sorted(['{"bucket', "not json"])
    errors = " | ".join(m["MessageAttributes"]["error"]["StringValue"] for m in dead)
    assert "allow-list" in errors and "not JSON" in errors
