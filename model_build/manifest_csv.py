"""The training manifest: a CSV of ``path,background,angle,crop,quality``, validated up front.

Every row is checked before any training starts and all problems are reported together, each
naming its row, so a retailer fixes a bad catalog export in one pass instead of one error per
run. Checks: required columns, known labels (background ``none`` for a close-up that shows no
backdrop: the row trains every head but background), crop as a yes/no value, quality a number in 0..1,
and the file itself: present, and an image that the serving decoder can decode.
"""
from __future__ import annotations

import csv
import hashlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from screener.decode import DecodeFailure, decode_rgb, read_header

from . import storage
from .dataset import ANGLE_LABELS, BACKGROUND_LABELS, BACKGROUND_NONE, Labels

COLUMNS = ("path", "background", "angle", "crop", "quality")
CROP_TRUE = {"1", "true", "yes", "y", "ok", "adequate", "good"}
CROP_FALSE = {"0", "false", "no", "n", "bad", "inadequate", "cut"}


@dataclass(frozen=True)
class Row:
    row: int  # 1-based data row (the header is not counted)
    uri: str  # absolute local path or s3:// URI
    labels: Labels
    sha256: str = ""  # of the file's bytes, filled by validation (the feature cache key)


class ManifestCSVError(ValueError):
    """One or more rows are bad; ``problems`` lists each as 'row N (line L): ...'."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        head = f"{source}: {len(problems)} problem(s); fix them and run again:"
        super().__init__("\n  ".join([head, *problems]))


def _where(row: int) -> str:
    return f"row {row} (line {row + 1})"


def _parse_labels(rec: dict[str, str], row: int, problems: list[str]) -> Labels | None:
    bad = len(problems)
    bg = (rec.get("background") or "").strip().lower()
    if bg not in (*BACKGROUND_LABELS, BACKGROUND_NONE):
        problems.append(f"{_where(row)}: unknown background {bg!r} (expected one of {', '.join(BACKGROUND_LABELS)}, "
                        f"or {BACKGROUND_NONE} for a close-up that shows no backdrop)")
    angle = (rec.get("angle") or "").strip().lower()
    if angle not in ANGLE_LABELS:
        problems.append(f"{_where(row)}: unknown angle {angle!r} (expected one of {', '.join(ANGLE_LABELS)})")
    crop = (rec.get("crop") or "").strip().lower()
    if crop not in CROP_TRUE | CROP_FALSE:
        problems.append(f"{_where(row)}: crop {crop!r} is not a yes/no value (use 1/0, true/false, yes/no)")
    q_raw = (rec.get("quality") or "").strip()
    try:
        q = float(q_raw)
        if not (math.isfinite(q) and 0.0 <= q <= 1.0):
            raise ValueError
    except ValueError:
        problems.append(f"{_where(row)}: bad quality value {q_raw!r} (want a number from 0 to 1)")
        q = float("nan")
    if len(problems) > bad:
        return None
    return Labels.from_names(bg, angle, crop in CROP_TRUE, q)


def check_image(uri: str) -> tuple[str | None, str]:
    """(problem or None, sha256 of the bytes). Decodes with the serving decoder at a small size."""
    try:
        data = storage.read_bytes(uri)
    except storage.SourceError as e:
        return (f"missing file: {e}" if "no such file" in str(e) else str(e)), ""
    digest = hashlib.sha256(data).hexdigest()
    try:
        im, _ = read_header(data)
        decode_rgb(im, 64)  # full pixel decode (JPEG at 1/8 scale): catches truncated data
    except DecodeFailure as e:
        return f"unreadable image {uri}: {e.reason.value} ({e.detail})", digest
    return None, digest


def read_manifest(csv_path: str | Path, check_files: bool = True, workers: int = 4) -> list[Row]:
    """Parse and validate the whole CSV. Raises ManifestCSVError listing every bad row."""
    csv_path = Path(csv_path)
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ManifestCSVError(str(csv_path), [f"cannot read the manifest: {e}"]) from e
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in fields]
    if missing:
        raise ManifestCSVError(str(csv_path), [f"header lacks column(s) {', '.join(missing)}; want {','.join(COLUMNS)}"])
    reader.fieldnames = fields
    problems: list[str] = []
    parsed: list[tuple[int, str, Labels | None]] = []
    for i, rec in enumerate(reader, start=1):
        path = (rec.get("path") or "").strip()
        labels = _parse_labels(rec, i, problems)
        if not path:
            problems.append(f"{_where(i)}: empty path")
            continue
        parsed.append((i, storage.resolve(path, csv_path.parent), labels))
    if not parsed and not problems:
        problems.append("no data rows")
    rows: list[Row] = []
    if check_files and parsed:
        # Every row's file is checked, even rows with bad labels, so one pass reports everything.
        # I/O bound (local disk or S3): threads overlap the reads; decoding releases the GIL.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda p: check_image(p[1]), parsed))
        for (i, uri, labels), (problem, digest) in zip(parsed, results):
            if problem:
                problems.append(f"{_where(i)}: {problem}")
            elif labels is not None:
                rows.append(Row(i, uri, labels, digest))
    else:
        rows = [Row(i, uri, labels) for i, uri, labels in parsed if labels is not None]
    if problems:
        problems.sort(key=lambda p: int(p.split()[1]) if p.startswith("row ") else 0)
        raise ManifestCSVError(str(csv_path), problems)
    return rows
