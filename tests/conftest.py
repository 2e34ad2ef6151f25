import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fixtures

from tests.fixtures.tiny_model import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def classifier(tiny_model_dir):
    from screener.classifier import Classifier

    return Classifier.from_dir(tiny_model_dir, 1)


@pytest.fixture()
def config(tiny_model_dir):
    from screener.config import load_config

    return load_config({"MODEL_DIR": str(tiny_model_dir)})


@pytest.fixture()
def s3(monkeypatch):
    """A moto S3 with one bucket (unversioned)."""
    import boto3
    from moto import mock_aws

    from tests.fixtures.s3 import BUCKET

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
