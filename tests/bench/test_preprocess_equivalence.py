"""The optimised preprocessing computes what the model was trained on.

``REFERENCE`` below is the original implementation of ``prepare`` and ``quality_features``
(commit efbc173), verbatim: the definitions the model's inputs are trained against. The serving
code was since optimised (table-lookup normalisation, in-place Laplacians, no copy in the EXIF
step); these tests hold it to the reference on varied photos: pixels bit for bit, quality
features within float32 rounding.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from screener.decode import decode_rgb, read_header
from screener.manifest import InputSpec, QualityFeatureSpec
from screener.preprocess import FEATURE_SETS, prepare

V1 = FEATURE_SETS[1]  # the reference below is v1's definition
QUALITY_CROP = V1.crop

from tests.fixtures.images import encode, product

# ---------------------------------------------------------------- reference (efbc173, verbatim)
_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
            "lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX, "nearest": Image.Resampling.NEAREST}


def _center(im, side):
    w, h = im.size
    if w <= side and h <= side:
        return im
    cw, ch = min(w, side), min(h, side)
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def _analysis_image(rgb, analysis_size):
    factor = min(rgb.size) // max(analysis_size, 1)
    return rgb.reduce(factor) if factor >= 2 else rgb


def _laplacian_abs(g):
    c = g[1:-1, 1:-1]
    return np.abs(4.0 * c - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])


def ref_quality_features(gray, header):
    lap = _laplacian_abs(gray)
    h2, w2 = (gray.shape[0] // 2) * 2, (gray.shape[1] // 2) * 2
    g = gray[:h2, :w2]
    coarse = (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]) * 0.25
    lap_c = _laplacian_abs(coarse)
    lap_mean = float(lap.mean())
    lap_c_mean = float(lap_c.mean())
    noise = float(np.median(lap[::3, ::3]))
    mean = float(gray.mean())
    n = gray.size
    short = min(header.width, header.height)
    feats = (
        math.log1p(lap_mean),
        math.log1p(math.sqrt(float(np.square(lap, dtype=np.float32).mean()))),
        math.log1p(lap_c_mean),
        lap_mean / (lap_c_mean + 1.0),
        math.log1p(noise),
        mean / 255.0,
        float(gray.std()) / 128.0,
        float(np.count_nonzero(gray >= 250)) / n,
        float(np.count_nonzero(gray <= 5)) / n,
        math.log1p(header.jpeg_luma_q) / 5.0 if header.jpeg_luma_q else 0.0,
        math.log2(max(short, 1) / 1000.0),
    )
    return np.asarray(feats, dtype=np.float32)


def ref_prepare(rgb, header, spec):
    work = _analysis_image(rgb, spec.analysis_size)
    # The one addition since efbc173: the manifest's reducing_gap (1.5.0 on), Pillow's own option.
    small = work.resize((spec.size, spec.size), _FILTERS[spec.resize], reducing_gap=spec.reducing_gap)
    x = np.asarray(small, dtype=np.float32)
    mean = np.asarray(spec.mean, dtype=np.float32) * 255.0
    inv_std = 1.0 / (np.asarray(spec.std, dtype=np.float32) * 255.0)
    pixels = ((x - mean) * inv_std).transpose(2, 0, 1)[None]
    gray = np.asarray(_center(work, QUALITY_CROP).convert("L"), dtype=np.float32)
    q = ref_quality_features(gray, header)[None]
    return np.ascontiguousarray(pixels), q


# ---------------------------------------------------------------- cases
def _spec(size: int, analysis: int, mean, std, resize: str = "bilinear", gap: float | None = None) -> InputSpec:
    return InputSpec(name="image", size=size, mean=mean, std=std, resize=resize, fit="squash", analysis_size=analysis,
                     quality_features=QualityFeatureSpec("quality_features", 1, V1.names), reducing_gap=gap)


SPECS = {
    # models up to 1.4.0 (model_build/input_spec.py): one mean/std for every channel, one resize
    "lite0": _spec(224, 640, (127 / 255,) * 3, (128 / 255,) * 3),
    # from 1.5.0: box-reduce first, then bilinear
    "lite0-gap1": _spec(224, 640, (127 / 255,) * 3, (128 / 255,) * 3, gap=1.0),
    # per-channel statistics, another size and filter: every table row differs
    "imagenet": _spec(64, 256, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "bicubic"),
}


def _noisy(size, seed, sigma=6.0, **kw) -> Image.Image:
    a = np.asarray(product(size, seed=seed, **kw), dtype=np.float32)
    a += np.random.default_rng(seed).normal(0, sigma, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def _photos() -> dict[str, bytes]:
    flat = Image.new("RGB", (900, 700), (252, 252, 252))
    dark = Image.new("RGB", (700, 900), (3, 2, 4))
    grad = Image.fromarray(np.tile(np.linspace(0, 255, 1300, dtype=np.uint8), (800, 1))).convert("RGB")
    rgba = _noisy((1100, 1000), 4).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((1100, 1000)))
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 on display
    _noisy((1600, 1200), 5).save(rotated, "JPEG", quality=90, exif=exif.tobytes())
    return {
        "jpeg-3000-noisy": encode(_noisy((3000, 3000), 1), "JPEG", quality=90),
        "jpeg-1500x1100-blurred": encode(_noisy((1500, 1100), 2, blur=3.0), "JPEG", quality=95),
        "jpeg-odd-641x2999": encode(_noisy((641, 2999), 3), "JPEG", quality=85),
        "jpeg-exif-rotated": rotated.getvalue(),
        "png-2000": encode(_noisy((2000, 2000), 6, bg=(240, 240, 235)), "PNG"),
        "png-rgba": encode(rgba, "PNG"),
        "png-small-300x200": encode(_noisy((300, 200), 7), "PNG"),
        "jpeg-flat-white": encode(flat, "JPEG", quality=90),
        "jpeg-dark": encode(dark, "JPEG", quality=90),
        "png-gradient": encode(grad, "PNG"),
    }


PHOTOS = _photos()


@pytest.mark.parametrize("spec_name", sorted(SPECS))
@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_prepare_matches_reference(name: str, spec_name: str) -> None:
    spec = SPECS[spec_name]
    im, header = read_header(PHOTOS[name])
    rgb = decode_rgb(im, spec.analysis_size)
    want_pixels, want_q = ref_prepare(rgb, header, spec)
    got = prepare(rgb, header, spec)
    assert got.pixels.dtype == np.float32 and got.pixels.flags.c_contiguous
    np.testing.assert_array_equal(got.pixels, want_pixels)  # bit for bit
    assert got.quality.shape == want_q.shape
    np.testing.assert_allclose(got.quality, want_q, rtol=1e-6, atol=1e-7)


def test_decode_applies_exif_orientation_without_copying_the_pixels_first() -> None:
    im, header = read_header(PHOTOS["jpeg-exif-rotated"])
    rgb = decode_rgb(im, 640)
    assert (header.width, header.height) == (1600, 1200)
    assert rgb.width < rgb.height  # orientation 6: displayed portrait
    plain, _ = read_header(PHOTOS["jpeg-3000-noisy"])
    assert decode_rgb(plain, 640) is plain  # nothing to rotate, already RGB: the decoded image itself
