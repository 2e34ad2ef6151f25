"""numeric.median is numpy's median, bit for bit, without importing numpy.ma."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from screener.numeric import median


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint8])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 1000, 29241])
def test_equals_numpy_median_bit_for_bit(dtype, n) -> None:
    rng = np.random.default_rng(n)
    for a in (rng.normal(100, 40, n), rng.integers(0, 255, n), np.full(n, 7)):
        a = a.astype(dtype)
        assert np.float64(median(a)).tobytes() == np.float64(np.median(a)).tobytes()


def test_strided_2d_views_like_the_quality_window() -> None:
    g = np.random.default_rng(0).normal(0, 30, (510, 510)).astype(np.float32)
    assert median(g[::3, ::3]) == float(np.median(g[::3, ::3]))


def test_screening_a_photo_does_not_import_numpy_ma() -> None:
    code = ("import sys\n"
            "from screener.decode import read_header, decode_rgb\n"
            "from screener.preprocess import prepare, FEATURE_SETS\n"
            "from screener.manifest import InputSpec, QualityFeatureSpec\n"
            "from tests.fixtures.images import good_jpeg\n"
            "im, h = read_header(good_jpeg())\n"
            "for v, fs in FEATURE_SETS.items():\n"
            "    spec = InputSpec('image', 224, (0.5,)*3, (0.5,)*3, 'bilinear', 'squash', 640, QualityFeatureSpec('q', v, fs.names))\n"
            "    prepare(decode_rgb(im, 640), h, spec)\n"
            "print('numpy.ma' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
