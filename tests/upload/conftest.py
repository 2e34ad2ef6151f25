import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SAMPLES = ROOT / "samples"
EVENT_BUCKET = "product-photos-dev"  # the bucket named in events/*.json


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture()
def app(monkeypatch, tiny_model_dir, s3):
    """The real handler module, configured from env as on Lambda, against moto."""
    monkeypatch.setenv("MODEL_DIR", str(tiny_model_dir))
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ScreenerTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "upload-screener")
    for k in ("APPROVAL_POLICY", "MAX_IMAGE_BYTES", "INCOMING_PREFIX", "APPROVED_PREFIX", "REVIEW_PREFIX"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.delenv("XRAY_SDK_TRACING", raising=False)
    s3.create_bucket(Bucket=EVENT_BUCKET)
    yield load_app()  # a fresh module per test: a fresh 'container', no cached dependencies


def load_app():
    """The handler module, executed afresh (its module scope reads the environment, as on Lambda)."""
    spec = importlib.util.spec_from_file_location("upload_app", ROOT / "functions" / "upload" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Ctx:
    function_name = "UploadFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:UploadFunction"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self):
        return 60_000


@pytest.fixture()
def ctx():
    return Ctx()
