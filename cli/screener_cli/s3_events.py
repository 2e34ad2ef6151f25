"""S3 event notifications built exactly as S3 sends them (keys URL-encoded, '+' for a space).

``python -m screener_cli.s3_events`` rewrites events/*.json from the photos in samples/, so
their eTag and size match those files: upload a sample under the event's key and the event
screens it (a mismatched eTag would, correctly, be treated as a superseded upload).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SAMPLES = ROOT / "samples"
DEFAULT_BUCKET = "product-photos-dev"


def encode_key(key: str) -> str:
    """How S3 writes a key into an event: form encoding (space -> '+', '+' -> %2B), UTF-8, '/' kept."""
    return quote_plus(key, safe="/")


def object_created(bucket: str, key: str, size: int, etag: str, version_id: str | None = None,
                   event_name: str = "ObjectCreated:Put", region: str = "us-east-1", seq: int = 0) -> dict:
    obj = {"key": encode_key(key), "size": size, "eTag": etag.strip('"'), "sequencer": f"{0x6571C0DE00000000 + seq:016X}"}
    if version_id:
        obj["versionId"] = version_id
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": now,
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": "EXAMPLE/123456789abcdefghijklmnopqrstuvwxyzABCDEFGH="},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "screen-uploads",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3EXAMPLEOWNER"},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def s3_event(*records: dict) -> dict:
    return {"Records": list(records)}


def test_event(bucket: str) -> dict:
    """What S3 sends once when a notification configuration is saved (no Records)."""
    return {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2025-01-01T00:00:00.000Z",
            "Bucket": bucket, "RequestId": "5582815E1AEA5ADF", "HostId": "EXAMPLEHOSTID="}


def for_file(bucket: str, key: str, path: Path, seq: int = 0) -> dict:
    data = path.read_bytes()
    return object_created(bucket, key, len(data), hashlib.md5(data).hexdigest(), seq=seq)


def write_samples(bucket: str = DEFAULT_BUCKET) -> list[Path]:
    s = {p.name: p for p in SAMPLES.glob("*.jpg")}
    table, cushion, cabinet = (s["ceramic table - white studio three-quarter.jpg"],
                               s["boucle cushion - busy backdrop.jpg"], s["rattan cabinet - white studio.jpg"])
    events = {
        "single-upload.json": s3_event(for_file(bucket, "incoming/catalog/ceramic table.jpg", table)),
        "several-records.json": s3_event(
            for_file(bucket, "incoming/catalog/ceramic table.jpg", table, 1),
            for_file(bucket, "incoming/catalog/boucle cushion.jpg", cushion, 2),
            for_file(bucket, "incoming/catalog/rattan cabinet.jpg", cabinet, 3)),
        # 'summer sale/table (2).jpg' -> 'summer+sale/table+%282%29.jpg'; 'c++ set.jpg' -> 'c%2B%2B+set.jpg';
        # 'café/crème brûlée 100%.jpg' -> 'caf%C3%A9/cr%C3%A8me+br%C3%BBl%C3%A9e+100%25.jpg'
        "encoded-keys.json": s3_event(
            for_file(bucket, "incoming/summer sale/table (2).jpg", table, 4),
            for_file(bucket, "incoming/c++ set.jpg", cushion, 5),
            for_file(bucket, "incoming/café/crème brûlée 100%.jpg", cabinet, 6)),
        "test-event.json": test_event(bucket),
        "folder-marker.json": s3_event(object_created(bucket, "incoming/new season/", 0,
                                                      "d41d8cd98f00b204e9800998ecf8427e", seq=7)),
        "outside-incoming.json": s3_event(for_file(bucket, "approved/catalog/ceramic table.jpg", table, 8)),
    }
    EVENTS.mkdir(exist_ok=True)
    out = []
    for name, ev in events.items():
        p = EVENTS / name
        p.write_text(json.dumps(ev, indent=2, ensure_ascii=True) + "\n")
        out.append(p)
    return out


if __name__ == "__main__":
    for p in write_samples():
        print(p.relative_to(ROOT))
