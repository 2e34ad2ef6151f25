"""The CLI as a user runs it: screen, invoke (fresh process, moto server over HTTP), demo guard."""
import json
import logging
import os
from pathlib import Path

import boto3
import pytest

from screener_cli.invoke import invoke
from screener_cli.main import main
from tests.upload.conftest import EVENT_BUCKET, SAMPLES, load_event

ROOT = Path(__file__).resolve().parents[2]


def test_screen_json_lines(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "notes.jpg").write_text("not a photo")
    rc = main(["screen", "--json", "--model-dir", str(tiny_model_dir),
               str(SAMPLES / "ceramic table - white studio three-quarter.jpg"), str(tmp_path)])
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 0 and len(rows) == 2
    assert rows[0]["verdict"] == "approved" and rows[0]["labels"]["background"]["label"] == "white"
    assert rows[0]["category"] == "footwear" and set(rows[0]["scores"]) >= {"crop", "quality"}
    assert rows[1]["verdict"] == "review" and rows[1]["reasons"] == ["not-an-image"]


def test_screen_table(tiny_model_dir, capsys):
    assert main(["screen", "--model-dir", str(tiny_model_dir), str(SAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "boucle cushion - busy backdrop.jpg" in out and "background" in out


def test_screen_without_model_is_a_clear_error(tmp_path, capsys):
    assert main(["screen", "--model-dir", str(tmp_path), str(SAMPLES)]) == 2
    assert "no manifest" in capsys.readouterr().err


def test_demo_refuses_without_the_real_model(tmp_path, capsys):
    assert main(["demo", "--model-dir", str(tmp_path)]) == 2
    assert "real model" in capsys.readouterr().err


@pytest.fixture()
def moto_server():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_invoke_runs_the_handler_in_a_fresh_process_against_an_endpoint(moto_server, tiny_model_dir, tmp_path):
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_REGION": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
    s3.create_bucket(Bucket=EVENT_BUCKET)
    for key, name in [("incoming/summer sale/table (2).jpg", "ceramic table - white studio three-quarter.jpg"),
                      ("incoming/c++ set.jpg", "boucle cushion - busy backdrop.jpg"),
                      ("incoming/café/crème brûlée 100%.jpg", "rattan cabinet - white studio.jpg")]:
        s3.put_object(Bucket=EVENT_BUCKET, Key=key, Body=(SAMPLES / name).read_bytes())
    log = tmp_path / "handler.log"
    res = invoke("UploadFunction", [load_event("encoded-keys.json"), load_event("test-event.json")],
                 model_dir=tiny_model_dir, env=env, log_file=log,
                 overrides={"ApprovalPolicy": '{"allowed_backgrounds": ["white"]}'})
    assert res.returncode == 0, log.read_text()[-3000:]
    assert res.screener_module.startswith(str(ROOT / "layers" / "core"))  # the layer, as on Lambda
    first, second = res.invocations
    assert first["ok"] and second == {**second, "ok": True, "response": {"records": []}}
    assert [r["outcome"] for r in first["response"]["records"]] == ["moved"] * 3
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=EVENT_BUCKET)["Contents"])
    assert listed == ["approved/café/crème brûlée 100%.jpg", "approved/summer sale/table (2).jpg", "review/c++ set.jpg"]
    logs = [json.loads(x) for x in log.read_text().splitlines() if x.startswith('{"level"')]
    assert any(x.get("message") == "screened" and x["function_name"] == "UploadFunction" for x in logs)
