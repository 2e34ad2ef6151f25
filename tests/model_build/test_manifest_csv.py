"""The training CSV: every bad row reported, by row, before any training."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from model_build.dataset import BACKGROUND_NONE, BACKGROUND_UNKNOWN
from model_build.manifest_csv import ManifestCSVError, read_manifest


def _jpeg(path, colour=(200, 200, 200)):
    Image.new("RGB", (64, 48), colour).save(path, "JPEG")


def test_valid_manifest_parses(tmp_path):
    _jpeg(tmp_path / "a.jpg")
    _jpeg(tmp_path / "b.jpg")
    (tmp_path / "labels.csv").write_text(
        "path,background,angle,crop,quality\na.jpg,white,front,1,0.9\nb.jpg,Lifestyle,detail,no,0.25\n")
    rows = read_manifest(tmp_path / "labels.csv")
    assert [r.row for r in rows] == [1, 2]
    assert rows[0].labels.crop_ok and not rows[1].labels.crop_ok
    assert rows[1].labels.background == 1 and rows[1].labels.angle == 3
    assert len(rows[0].sha256) == 64


def test_background_none_marks_a_close_up_without_a_backdrop(tmp_path):
    _jpeg(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_text("path,background,angle,crop,quality\na.jpg,None,detail,1,0.9\n")
    (row,) = read_manifest(tmp_path / "labels.csv")
    assert row.labels.background == BACKGROUND_UNKNOWN and row.labels.angle == 3


def test_the_generators_no_backdrop_label_is_the_one_training_reads(tmp_path):
    """The synthetic catalog (model_build.synth, standalone) writes labels.csv in the training
    format; its word for "no backdrop in the frame" must be the one the CSV reader accepts."""
    from model_build.synth.partition import BACKGROUND_NOT_SHOWN

    assert BACKGROUND_NOT_SHOWN == BACKGROUND_NONE
    _jpeg(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_text(f"path,background,angle,crop,quality\na.jpg,{BACKGROUND_NOT_SHOWN},detail,1,0.9\n")
    (row,) = read_manifest(tmp_path / "labels.csv")
    assert row.labels.background == BACKGROUND_UNKNOWN


def test_all_bad_rows_reported_by_row(tmp_path):
    _jpeg(tmp_path / "ok.jpg")
    full = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 120, 200)).save(full, "JPEG")
    (tmp_path / "truncated.jpg").write_bytes(full.getvalue()[:300])
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "labels.csv").write_text(
        "path,background,angle,crop,quality\n"
        "ok.jpg,white,front,1,0.9\n"
        "ok.jpg,blue,front,1,0.9\n"  # row 2: unknown background
        "missing.jpg,white,front,1,0.9\n"  # row 3: missing file
        "text.jpg,white,front,1,0.9\n"  # row 4: unreadable
        "ok.jpg,white,top,maybe,1.7\n"  # row 5: angle, crop, quality
        "truncated.jpg,white,front,1,0.5\n"  # row 6: truncated pixel data
    )
    with pytest.raises(ManifestCSVError) as e:
        read_manifest(tmp_path / "labels.csv")
    msg = str(e.value)
    problems = e.value.problems
    assert any(p.startswith("row 2 ") and "unknown background 'blue'" in p for p in problems)
    assert any(p.startswith("row 3 ") and "missing file" in p for p in problems)
    assert any(p.startswith("row 4 ") and "unreadable image" in p for p in problems)
    assert any(p.startswith("row 5 ") and "unknown angle 'top'" in p for p in problems)
    assert any(p.startswith("row 5 ") and "crop 'maybe'" in p for p in problems)
    assert any(p.startswith("row 5 ") and "bad quality value '1.7'" in p for p in problems)
    assert any(p.startswith("row 6 ") and "unreadable image" in p for p in problems)
    assert not any(p.startswith("row 1 ") for p in problems)
    assert "7 problem(s)" in msg


def test_missing_column_named(tmp_path):
    (tmp_path / "labels.csv").write_text("path,background,angle,quality\n")
    with pytest.raises(ManifestCSVError, match="lacks column.*crop"):
        read_manifest(tmp_path / "labels.csv")


def test_train_cli_exits_with_row_errors(tmp_path, capsys):
    from model_build.__main__ import main

    (tmp_path / "labels.csv").write_text("path,background,angle,crop,quality\nnope.jpg,white,front,1,0.5\n")
    assert main(["train", "--manifest", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "m")]) == 2
    assert "row 1 (line 2): missing file" in capsys.readouterr().err


def test_s3_rows_are_read_and_checked(tmp_path, monkeypatch):
    """s3:// paths go through boto3 (moto here); a missing key is reported by row."""
    import boto3
    from moto import mock_aws

    from model_build import storage

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        storage._s3_client.cache_clear()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="photos")
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (250, 250, 250)).save(buf, "JPEG")
        s3.put_object(Bucket="photos", Key="a.jpg", Body=buf.getvalue())
        (tmp_path / "labels.csv").write_text(
            "path,background,angle,crop,quality\ns3://photos/a.jpg,white,front,1,0.9\n")
        rows = read_manifest(tmp_path / "labels.csv")
        assert rows[0].uri == "s3://photos/a.jpg" and len(rows[0].sha256) == 64
        (tmp_path / "labels.csv").write_text(
            "path,background,angle,crop,quality\ns3://photos/a.jpg,white,front,1,0.9\ns3://photos/nope.jpg,white,front,1,0.9\n")
        with pytest.raises(ManifestCSVError) as e:
            read_manifest(tmp_path / "labels.csv")
        assert any(p.startswith("row 2 ") and "s3://photos/nope.jpg" in p for p in e.value.problems)
    storage._s3_client.cache_clear()
