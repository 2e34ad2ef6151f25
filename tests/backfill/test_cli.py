"""`screener backfill start --local`, `status` and `report` against moto server on loopback, with the
real BackfillFunction in a child process behind the local SQS event source (template settings)."""
from __future__ import annotations

import csv
import json

import boto3
import pytest
from moto.server import ThreadedMotoServer

from screener_cli.main import main

from .conftest import catalog_photos

BUCKET = "product-photos-123456789012-us-east-1"  # the template's bucket, resolved locally


@pytest.fixture
def server(monkeypatch):
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    for k, v in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                 "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    yield boto3.client("s3")
    srv.stop()


def test_local_backfill_status_and_report(server, model_dir, tmp_path, capsys):
    photos = catalog_photos(8)
    server.create_bucket(Bucket=BUCKET)
    for k, v in photos.items():
        server.put_object(Bucket=BUCKET, Key=k, Body=v)
    server.put_object(Bucket=BUCKET, Key="elsewhere/x.jpg", Body=photos["skus/0000.jpg"])
    rc = main(["backfill", "start", "--bucket", BUCKET, "--prefix", "skus/", "--run-id", "cli1", "--local",
               "--model-dir", str(model_dir), "--visibility-timeout", "5", "--log", str(tmp_path / "log"),
               "--max-seconds", "120"])
    out = capsys.readouterr().out
    assert rc == 0, (out, (tmp_path / "log").read_text()[-3000:])
    assert "8/8 objects" in out

    assert main(["backfill", "status", "cli1", "--bucket", BUCKET, "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["listed"], st["done"], st["finished"]) == (8, 8, True)
    assert sum(st["by_verdict"].values()) == 8

    assert main(["backfill", "report", "cli1", "--bucket", BUCKET, "--out", str(tmp_path / "rep")]) == 0
    text = capsys.readouterr().out
    assert "backfill run cli1: 8 objects" in text
    rows = list(csv.DictReader(open(tmp_path / "rep" / "report.csv", encoding="utf-8")))
    assert sorted(r["key"] for r in rows) == sorted(photos)
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "<svg" in html and html.count("data:image/jpeg;base64,") >= 1  # review photos have thumbnails
    # The prefix bounded the run: nothing outside it was touched.
    assert server.get_object_tagging(Bucket=BUCKET, Key="elsewhere/x.jpg")["TagSet"] == []
    # A second start with the same run id is refused rather than forking the run.
    assert main(["backfill", "start", "--bucket", BUCKET, "--prefix", "skus/", "--run-id", "cli1", "--local"]) == 2


def test_seed_is_validated_before_sending(server, capsys):
    rc = main(["backfill", "start", "--bucket", BUCKET, "--prefix", "catalog/", "--mode", "move", "--queue-url", "x"])
    assert rc == 2 and "move mode only re-screens uploads under" in capsys.readouterr().err
    rc = main(["backfill", "start", "--bucket", BUCKET, "--run-id", "../x", "--queue-url", "x"])
    assert rc == 2 and "run_id" in capsys.readouterr().err
