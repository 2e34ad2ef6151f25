"""The manifest's resize contract: ``reducing_gap`` is read, validated and applied by ``prepare``."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from screener.decode import decode_rgb, read_header
from screener.manifest import InputSpec, ManifestError, QualityFeatureSpec, parse_manifest
from screener.preprocess import FEATURE_SETS, analysis_image, prepare

from tests.fixtures.images import encode, product

SHIPPED = json.loads((Path(__file__).parents[2] / "layers" / "model" / "manifest.json").read_text())


def _with_input(**changes) -> dict:
    raw = json.loads(json.dumps(SHIPPED))
    raw["input"].update(changes)
    return raw


def test_reducing_gap_is_read_from_the_manifest_and_absent_means_the_exact_filter() -> None:
    raw = _with_input()
    raw["input"].pop("reducing_gap", None)
    assert parse_manifest(raw).input.reducing_gap is None
    assert parse_manifest(_with_input(reducing_gap=1)).input.reducing_gap == 1.0
    assert parse_manifest(_with_input(reducing_gap=2.5)).input.reducing_gap == 2.5


@pytest.mark.parametrize("bad", [0.5, 0, -1, "1.0", True, [1]])
def test_a_reducing_gap_pillow_would_refuse_is_a_manifest_error(bad) -> None:
    with pytest.raises(ManifestError, match="reducing_gap"):
        parse_manifest(_with_input(reducing_gap=bad))


def _spec(gap: float | None) -> InputSpec:
    fs = FEATURE_SETS[3]
    return InputSpec(name="image", size=224, mean=(0.5,) * 3, std=(0.5,) * 3, resize="bilinear", fit="squash",
                     analysis_size=640, quality_features=QualityFeatureSpec("quality_features", 3, fs.names),
                     reducing_gap=gap)


def test_prepare_resizes_with_the_manifests_reducing_gap() -> None:
    im, header = read_header(encode(product((3000, 2400), seed=5), "JPEG", quality=90))
    rgb = decode_rgb(im, 640)
    work = analysis_image(rgb, 640)
    exact, reduced = prepare(rgb, header, _spec(None)), prepare(rgb, header, _spec(1.0))
    want = np.asarray(work.resize((224, 224), Image.Resampling.BILINEAR, reducing_gap=1.0), np.float32)
    want = ((want - 127.5) / 127.5).transpose(2, 0, 1)[None]
    np.testing.assert_allclose(reduced.pixels, want, atol=1e-6)
    # Same antialiasing within about a level, but not the same pixels: a model is served with the
    # resize it was trained with, which is why the gap lives in its manifest.
    diff = np.abs(reduced.pixels - exact.pixels) * 127.5
    assert 0 < diff.mean() < 2.0
    # The quality statistics come from the analysis image, not the resized one.
    np.testing.assert_array_equal(reduced.quality, exact.quality)


def test_v3_is_v1s_statistics_on_a_smaller_window() -> None:
    assert FEATURE_SETS[3].names == FEATURE_SETS[1].names
    assert FEATURE_SETS[3].crop < FEATURE_SETS[1].crop and not FEATURE_SETS[3].frame
    im, header = read_header(encode(product((1600, 1200), seed=3), "JPEG", quality=90))
    rgb = decode_rgb(im, 640)
    v1 = replace(_spec(None), quality_features=QualityFeatureSpec("quality_features", 1, FEATURE_SETS[1].names))
    q1, q3 = prepare(rgb, header, v1).quality, prepare(rgb, header, _spec(None)).quality
    # Window-independent entries agree (JPEG quantisation, resolution); the window's statistics differ.
    names = FEATURE_SETS[1].names
    for n in ("jpeg_q", "resolution"):
        assert q1[0, names.index(n)] == q3[0, names.index(n)]
    assert q1[0, names.index("luma_mean")] != q3[0, names.index("luma_mean")]
