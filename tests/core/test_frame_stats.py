"""Whole-frame statistics (exposure, backdrop ring) and the versioned quality feature sets."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from screener.decode import decode_rgb, read_header
from screener.frame_stats import FRAME_FEATURE_NAMES, frame_features
from screener.manifest import InputSpec, QualityFeatureSpec
from screener.preprocess import FEATURE_SETS, feature_set, grad_coherence, prepare

from tests.fixtures.images import encode, product

F = {name: i for i, name in enumerate(FRAME_FEATURE_NAMES)}


def _small(bg, size=224, product_fill=(90, 60, 40), texture=False) -> Image.Image:
    im = Image.new("RGB", (size, size), bg)
    if texture:  # a 'room': stripes of furniture-like tones all round
        d = ImageDraw.Draw(im)
        for x in range(0, size, 12):
            d.rectangle((x, 0, x + 5, size), fill=(140 + x % 60, 110, 80))
    ImageDraw.Draw(im).rectangle((60, 50, 164, 180), fill=product_fill)
    return im


def test_white_seamless_ring_reads_white_neutral_and_uniform() -> None:
    f = frame_features(_small((250, 250, 248)))
    assert f[F["ring_white"]] == pytest.approx(1.0)
    assert f[F["ring_white_rel"]] == pytest.approx(1.0)
    assert f[F["ring_uniform"]] == pytest.approx(1.0)
    assert f[F["ring_chroma"]] < 0.02 and f[F["ring_edges"]] == pytest.approx(0.0)


def test_underexposed_white_backdrop_is_still_white_relative_to_the_frame() -> None:
    f = frame_features(_small((150, 150, 148), product_fill=(50, 35, 25)))
    assert f[F["ring_white"]] == 0.0  # nowhere near 235 any more
    assert f[F["ring_white_rel"]] == pytest.approx(1.0)  # but still the frame's brightest neutral tone
    assert f[F["luma_p98"]] < 0.62  # and the frame has no highlights: the exposure cue


def test_coloured_and_textured_backdrops_are_told_apart_from_white() -> None:
    white = frame_features(_small((252, 252, 252)))
    colour = frame_features(_small((40, 160, 60)))
    room = frame_features(_small((200, 190, 170), texture=True))
    assert colour[F["ring_chroma"]] > 0.3 and colour[F["ring_white"]] == 0.0
    assert room[F["ring_edges"]] > white[F["ring_edges"]] + 0.05
    assert room[F["ring_uniform"]] < 0.8


def test_percentiles_and_clipping_are_exact_levels() -> None:
    a = np.zeros((100, 100, 3), np.uint8)
    a[:50] = 255  # half black, half white
    f = frame_features(Image.fromarray(a, "RGB"))
    assert f[F["luma_p02"]] == 0.0 and f[F["luma_p98"]] == 1.0
    assert f[F["frame_clip_high"]] == pytest.approx(0.5) and f[F["frame_clip_low"]] == pytest.approx(0.5)


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 5), (224, 7)])
def test_tiny_frames_give_finite_features(size) -> None:
    f = frame_features(Image.new("RGB", size, (128, 128, 128)))
    assert f.shape == (len(FRAME_FEATURE_NAMES),) and np.all(np.isfinite(f))


def test_motion_blur_lines_gradients_up_and_noise_does_not() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 20, (200, 200)).astype(np.float32)
    c = np.cumsum(noise, axis=1, dtype=np.float64)
    smeared = (c[:, 20:] - c[:, :-20]) / 20.0  # a 20 px horizontal box: motion blur along x
    assert grad_coherence(noise) < 0.1
    assert grad_coherence(smeared.astype(np.float32)) > 0.6
    assert grad_coherence(np.full((10, 10), 7.0, np.float32)) == 0.0


def _spec(version: int, names) -> InputSpec:
    return InputSpec(name="image", size=224, mean=(0.5,) * 3, std=(0.5,) * 3, resize="bilinear", fit="squash",
                     analysis_size=640, quality_features=QualityFeatureSpec("quality_features", version, tuple(names)))


@pytest.mark.parametrize("version", sorted(FEATURE_SETS))
def test_every_supported_version_prepares_its_named_features(version: int) -> None:
    im, header = read_header(encode(product((1600, 1200), seed=3), "JPEG", quality=90))
    fs = FEATURE_SETS[version]
    q = prepare(decode_rgb(im, 640), header, _spec(version, fs.names)).quality
    assert q.shape == (1, len(fs.names)) and np.all(np.isfinite(q))


def test_every_version_starts_with_v1s_statistics() -> None:
    """v2 and v3 start with v1's statistics, so all read the same as far as v1 goes (own crop aside)."""
    for fs in FEATURE_SETS.values():
        assert fs.names[: len(FEATURE_SETS[1].names)] == FEATURE_SETS[1].names


def test_v3_is_v1_on_its_own_window_plus_the_frame_statistics() -> None:
    """Same photo: v3's first 11 values are v1's exactly (same 512 px window), the rest are
    frame_features of the 224 px model image, and v2's coherence is not among them."""
    im, header = read_header(encode(product((1600, 1200), seed=5), "JPEG", quality=90))
    rgb = decode_rgb(im, 640)
    v1 = prepare(rgb, header, _spec(1, FEATURE_SETS[1].names))
    v3 = prepare(rgb, header, _spec(3, FEATURE_SETS[3].names))
    n1 = len(FEATURE_SETS[1].names)
    assert np.array_equal(v3.quality[0, :n1], v1.quality[0])
    assert np.array_equal(v3.pixels, v1.pixels)
    small = Image.fromarray(np.clip(np.rint(v1.pixels[0] * 127.5 + 127.5), 0, 255).astype(np.uint8).transpose(1, 2, 0))
    assert np.allclose(v3.quality[0, n1:], frame_features(small), atol=0.02)
    assert "grad_coherence" not in FEATURE_SETS[3].names and FEATURE_SETS[3].crop == 512


def test_unknown_version_or_renamed_features_are_refused() -> None:
    with pytest.raises(ValueError, match="v99"):
        feature_set(99, FEATURE_SETS[1].names)
    with pytest.raises(ValueError, match="names differ"):
        feature_set(2, FEATURE_SETS[1].names)
    assert feature_set(1, FEATURE_SETS[1].names).crop == 512
    assert feature_set(2, FEATURE_SETS[2].names).crop == 384
