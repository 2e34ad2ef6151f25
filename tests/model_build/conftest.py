"""Shared fixtures for model_build tests: real photos shipped by scikit-image and matplotlib."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def skimage_data() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


@pytest.fixture(scope="session")
def backbone():
    from model_build.efficientnet_lite import load_pretrained

    return load_pretrained()
