"""An S3 Inventory report as the listing: a seed with ``"inventory": "<key of manifest.json>"``.

For a large catalog a daily inventory is cheaper than ListObjectsV2 and is a consistent
snapshot. The manifest and its CSV files must lie in the run's own bucket (inventory delivered
into a prefix of it), and the manifest's source bucket must be that bucket too: a message can
never make the function read another bucket. Only the CSV format is read. Keys in inventory CSV
files are URL-encoded (``+`` for a space) and are decoded once, here. Rows for delete markers
and non-current versions (when the inventory includes versions) are skipped.

A page is ``page_size`` rows of one CSV file; the continuation token is ``inventory:<file>:<row>``.
Each page re-reads its (gzipped) file: fine for catalogs of 10^5 objects, whose inventory is one
file of a few MB; a catalog of 10^8 would want byte-range paging instead.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from ..s3_objects import S3Objects
from .messages import MessageError, Scope

_TOKEN = re.compile(r"^inventory:(\d+):(\d+)$")


class InventoryError(MessageError):
    """The inventory cannot be used for this run; permanent, so the message goes to the DLQ."""


@dataclass(frozen=True)
class InventoryManifest:
    source_bucket: str
    destination_bucket: str
    files: tuple[str, ...]
    columns: tuple[str, ...]  # fileSchema, e.g. ("Bucket", "Key", "Size", "IsLatest", ...)


def parse_manifest(data: bytes) -> InventoryManifest:
    try:
        d = json.loads(data)
        fmt = d["fileFormat"]
        columns = tuple(c.strip() for c in str(d["fileSchema"]).split(","))
        files = tuple(str(f["key"]) for f in d["files"])
        source, dest = str(d["sourceBucket"]), str(d["destinationBucket"]).rsplit(":", 1)[-1]
    except (ValueError, KeyError, TypeError) as e:
        raise InventoryError(f"not an S3 Inventory manifest: {type(e).__name__}: {e}", "inventory") from None
    if fmt != "CSV":
        raise InventoryError(f"inventory format {fmt!r} is not supported (CSV only)", "inventory")
    if "Key" not in columns:
        raise InventoryError("inventory schema has no Key column", "inventory")
    return InventoryManifest(source, dest, files, columns)


def parse_rows(data: bytes, m: InventoryManifest) -> list[tuple[str, int]]:
    """(decoded key, size) for the current, non-deleted objects of one CSV (optionally gzipped) file."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    col = {name: i for i, name in enumerate(m.columns)}
    out = []
    for row in csv.reader(io.StringIO(data.decode("utf-8"))):
        if not row:
            continue
        if "IsDeleteMarker" in col and row[col["IsDeleteMarker"]].lower() == "true":
            continue
        if "IsLatest" in col and row[col["IsLatest"]].lower() == "false":
            continue
        size = row[col["Size"]] if "Size" in col else ""
        out.append((unquote_plus(row[col["Key"]]), int(size) if size.isdigit() else 0))
    return out


def inventory_page(objects: S3Objects, scope: Scope, token: str | None, page_size: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the inventory as ListObjectsV2-like ``Contents``, and the next page's token."""
    assert scope.inventory is not None
    raw = objects.get_bytes(scope.bucket, scope.inventory)
    if raw is None:
        raise InventoryError(f"no inventory manifest at s3://{scope.bucket}/{scope.inventory}", "inventory")
    m = parse_manifest(raw)
    if m.source_bucket != scope.bucket or m.destination_bucket != scope.bucket:
        raise InventoryError(f"the inventory lists bucket {m.source_bucket!r} into {m.destination_bucket!r}; "
                             f"a run may only read its own bucket {scope.bucket!r}", "inventory")
    file_i, row = 0, 0
    if token is not None:
        t = _TOKEN.match(token)
        if not t:
            raise InventoryError(f"bad inventory continuation token {token!r}", "token")
        file_i, row = int(t.group(1)), int(t.group(2))
    if file_i >= len(m.files):
        return [], None
    data = objects.get_bytes(scope.bucket, m.files[file_i])
    if data is None:
        raise InventoryError(f"inventory file {m.files[file_i]} named by the manifest is missing", "inventory")
    rows = parse_rows(data, m)
    page = rows[row : row + page_size]
    if row + page_size < len(rows):
        nxt: str | None = f"inventory:{file_i}:{row + page_size}"
    elif file_i + 1 < len(m.files):
        nxt = f"inventory:{file_i + 1}:0"
    else:
        nxt = None
    return [{"Key": k, "Size": s} for k, s in page], nxt  # plan_page applies the prefix
