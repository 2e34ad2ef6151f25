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
