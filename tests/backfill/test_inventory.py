"""A backfill seeded from an S3 Inventory CSV manifest instead of a listing."""
from __future__ import annotations

import gzip
import json

import pytest

from screener.backfill.inventory import InventoryError, parse_manifest, parse_rows
from screener.backfill.messages import Listing, Mode, Rules, Scope, parse_message
from screener.backfill.runs import RunReader
from screener_cli.local_esm import EsmSettings, LocalEventSourceMapping

from .conftest import BUCKET, catalog_photos, drain, put_all, seed_body, tags_of

SCHEMA = "Bucket, Key, Size, LastModifiedDate, ETag, IsLatest, IsDeleteMarker"


def manifest(files, source=BUCKET, dest=BUCKET, fmt="CSV"):
    return json.dumps({
        "sourceBucket": source, "destinationBucket": f"arn:aws:s3:::{dest}", "version": "2016-11-30",
        "creationTimestamp": "1767225600000", "fileFormat": fmt, "fileSchema": SCHEMA,
        "files": [{"key": f, "size": 1, "MD5checksum": "x"} for f in files],
    }).encode()


def csv_gz(rows):
    lines = [f'"{BUCKET}","{k}","{s}","2026-01-01T00:00:00.000Z","e","{latest}","{dm}"' for k, s, latest, dm in rows]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_rows_are_decoded_and_deleted_or_old_versions_skipped():
    m = parse_manifest(manifest(["inv/data/a.csv.gz"]))
    rows = parse_rows(csv_gz([("skus/red+shoe%2B1.jpg", 10, "true", "false"), ("skus/gone.jpg", 0, "true", "true"),
                              ("skus/old.jpg", 5, "false", "false"), ("skus/%C3%BC.jpg", 7, "true", "false")]), m)
    assert rows == [("skus/red shoe+1.jpg", 10), ("skus/ü.jpg", 7)]


@pytest.mark.parametrize("data, words", [(b"{}", "not an S3 Inventory"), (manifest(["x"], fmt="ORC"), "CSV only")])
def test_bad_manifests(data, words):
    with pytest.raises(InventoryError, match=words):
        parse_manifest(data)


def test_seed_field_is_validated():
    rules = Rules(buckets=frozenset({BUCKET}))
    m = parse_message(seed_body(inventory="inv/2026-01-01T00-00Z/manifest.json"), rules)
    assert isinstance(m, Listing) and m.scope.inventory == "inv/2026-01-01T00-00Z/manifest.json"
    with pytest.raises(Exception, match="manifest.json"):
        parse_message(seed_body(inventory="inv/data.csv"), rules)
    assert Scope(BUCKET, "", Mode.TAG, "r", False).fields().get("inventory") is None


def test_backfill_from_inventory_over_two_files(aws, app):
    photos = catalog_photos(12)
    put_all(aws.s3, photos)
    keys = sorted(photos)
    aws.s3.put_object(Bucket=BUCKET, Key="inv/data/1.csv.gz", Body=csv_gz([(k.replace(" ", "+"), 1, "true", "false") for k in keys[:8]]))
    aws.s3.put_object(Bucket=BUCKET, Key="inv/data/2.csv.gz", Body=csv_gz([(k, 1, "true", "false") for k in keys[8:]]
                                                                       + [("other/x.jpg", 1, "true", "false")]))
    aws.s3.put_object(Bucket=BUCKET, Key="inv/manifest.json", Body=manifest(["inv/data/1.csv.gz", "inv/data/2.csv.gz"]))
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(run_id="inv1", inventory="inv/manifest.json"))
    settings = EsmSettings(batch_size=5, function_timeout_s=60)
    stats = LocalEventSourceMapping(aws.sqs, aws.queue, app.lambda_handler, settings).run_until_drained(max_seconds=60, tick_s=0.1)
    assert stats.failed == 0, stats.errors
    p = RunReader(app.BACKFILL.objects, BUCKET, "inv1").progress()
    # 8 rows at 7 per page, then 5 (one outside the prefix): three pages, all 12 objects.
    assert (p.pages, p.listed, p.done, p.finished) == (3, 12, 12, True)
    assert all("screen:verdict" in tags_of(aws.s3, k) for k in keys)


def test_inventory_of_another_bucket_is_dead_lettered(aws, app):
    aws.s3.put_object(Bucket=BUCKET, Key="inv/manifest.json", Body=manifest(["inv/data/1.csv.gz"], source="foreign"))
    from .test_handler import Ctx
    from .conftest import sqs_event

    resp = app.lambda_handler(sqs_event(seed_body(run_id="inv2", inventory="inv/manifest.json")), Ctx())
    assert resp == {"batchItemFailures": []}
    (dead,) = drain(aws.sqs, aws.dlq)
    assert "may only read its own bucket" in dead["MessageAttributes"]["error"]["StringValue"]
