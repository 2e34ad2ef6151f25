"""Decoded RGB image -> the model's inputs, exactly as the manifest describes.

This is the one preprocessing path: serving, INT8 calibration, training and evaluation all call
``prepare``, so the model never sees pixels prepared any other way.

Two inputs come out:
- ``pixels``: the whole frame squashed to ``size`` x ``size`` (crop defects stay visible),
  converted to sRGB if the photo embeds another colour profile (colour.py), normalised with the
  manifest's mean/std, NCHW float32.
- ``quality``: a few image statistics measured on the *analysis* image, whose short side is at
  least ``analysis_size``. Blur that is plain on a 3000 px photo vanishes at 224 px, so sharpness
  and noise are measured at the larger scale, where they are still visible. For JPEG the
  analysis image costs almost nothing extra: entropy decoding dominates, and DCT scaling to
  1/4 costs about the same as to 1/8.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from .decode import ImageHeader, as_srgb
from .frame_stats import FRAME_FEATURE_NAMES, frame_features
from .manifest import InputSpec

QUALITY_FEATURES_V1 = (
    "lap_mean",  # log mean |Laplacian| at analysis scale: falls with blur
    "lap_rms",  # log RMS Laplacian: edges' strength
    "lap_coarse_mean",  # the same at half the analysis scale
    "fine_coarse_ratio",  # fine/coarse detail: content-independent blur cue
    "noise_median",  # log median |Laplacian|: flat areas dominate, so this tracks noise
    "luma_mean",  # exposure
    "luma_std",  # contrast
    "clip_high",  # fraction blown out
    "clip_low",  # fraction crushed
    "jpeg_q",  # JPEG luma quantisation strength (0 for lossless formats)
    "resolution",  # log2(short side / 1000) of the stored image
)

# v2 adds motion-blur direction and the whole-frame statistics (exposure, backdrop): v1 saw
# neither, and missed every under-exposed photo of the synthetic shifted set.
QUALITY_FEATURES_V2 = QUALITY_FEATURES_V1 + (
    "grad_coherence",  # how much gradient energy shares one direction: motion blur smears one way
) + FRAME_FEATURE_NAMES
# v3 is v1 on v1's window plus the whole-frame statistics. v2's smaller window cost the sharpness
# statistics more than coherence gave back; the frame statistics are what tell an under-exposed
# photo from a dark product (model_build/HISTORY.md, "What changed in 1.4.0").
QUALITY_FEATURES_V3 = QUALITY_FEATURES_V1 + FRAME_FEATURE_NAMES


@dataclass(frozen=True)
class FeatureSet:
    names: tuple[str, ...]
    # The central crop x crop window of the analysis image gives the sharpness/noise statistics:
    # blur and noise are global defects and the product sits near the centre. v2's smaller window
    # costs half of v1's; its frame statistics see the whole frame instead.
    crop: int
    frame: bool  # the whole-frame statistics of frame_stats, on the model-size image
    coherence: bool = False  # grad_coherence on the window, after v1's statistics


FEATURE_SETS = {
    1: FeatureSet(QUALITY_FEATURES_V1, crop=512, frame=False),
    2: FeatureSet(QUALITY_FEATURES_V2, crop=384, frame=True, coherence=True),
    3: FeatureSet(QUALITY_FEATURES_V3, crop=512, frame=True),
}

_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


@dataclass(frozen=True)
class ModelInput:
    pixels: np.ndarray  # (1, 3, size, size) float32
    quality: np.ndarray  # (1, len(feature set names)) float32


def _center(im: Image.Image, side: int) -> Image.Image:
    w, h = im.size
    if w <= side and h <= side:
        return im
    cw, ch = min(w, side), min(h, side)
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def analysis_image(rgb: Image.Image, analysis_size: int) -> Image.Image:
    """Shrink by an integer box factor while the short side stays >= analysis_size.

    JPEG arrives here already DCT-scaled; PNG/WebP/TIFF arrive full size and get the cheap
    integer reduce, so every format is measured at a comparable scale.
    """
    factor = min(rgb.size) // max(analysis_size, 1)
    return rgb.reduce(factor) if factor >= 2 else rgb


def _laplacian_abs(g: np.ndarray) -> np.ndarray:
    """|4c - up - down - left - right| in g's own dtype, accumulated in one buffer in the formula's
    order, without the written expression's four temporaries. On 8-bit luma held as int16 every
    value is exact (|lap| <= 1020; on 2x2 sums, <= 8160)."""
    lap = 4 * g[1:-1, 1:-1]
    lap -= g[:-2, 1:-1]
    lap -= g[2:, 1:-1]
    lap -= g[1:-1, :-2]
    lap -= g[1:-1, 2:]
    return np.abs(lap, out=lap)


def grad_coherence(gray: np.ndarray) -> float:
    """Coherence of the gradient structure tensor summed over the window, 0 (no direction) .. 1.

    Motion blur removes detail across one direction only, so what gradient energy is left lines
    up; defocus and noise leave it isotropic."""
    # Central differences: forward ones share their centre pixel, which correlates gx with gy and
    # makes plain noise look half-coherent.
    gx = gray[1:-1, 2:] - gray[1:-1, :-2]
    gy = gray[2:, 1:-1] - gray[:-2, 1:-1]
    sxx, syy, sxy = float(np.vdot(gx, gx)), float(np.vdot(gy, gy)), float(np.vdot(gx, gy))
    total = sxx + syy
    return math.sqrt((sxx - syy) ** 2 + 4.0 * sxy * sxy) / total if total > 1e-6 else 0.0


def _median_of_counts(counts: np.ndarray) -> float:
    """The median of the non-negative integers whose histogram is ``counts`` (numpy's definition:
    the mean of the two middle values when there is an even number)."""
    cdf = np.cumsum(counts)
    n = int(cdf[-1])
    upper = float(np.searchsorted(cdf, n // 2 + 1))  # the value at sorted index n // 2
    if n % 2:
        return upper
    return (float(np.searchsorted(cdf, n // 2)) + upper) / 2.0  # and at n // 2 - 1


def quality_features(window: Image.Image, header: ImageHeader) -> np.ndarray:
    """The v1 statistics of the 8-bit luma window (mode L) at analysis scale.

    Exact integer arithmetic throughout: luma is whole levels, so the Laplacians, their sums and
    the median are integers, and the luma moments come from Pillow's histogram. The same values
    as the float32 definition (tests/bench/test_preprocess_equivalence.py) to within its
    rounding, in half the time: no float copy of the window, one pass per statistic."""
    g = np.asarray(window, dtype=np.int16)
    n = g.size
    hist = np.asarray(window.histogram(), dtype=np.float64)
    levels = np.arange(256, dtype=np.float64)
    mean = float(hist @ levels) / n
    var = max(float(hist @ (levels * levels)) / n - mean * mean, 0.0)
    lap = _laplacian_abs(g)
    h2, w2 = (g.shape[0] // 2) * 2, (g.shape[1] // 2) * 2
    # 2x2 sums (4x the box average): the coarse Laplacian is then 4x the float one, exactly.
    s = g[0:h2:2, 0:w2:2] + g[1:h2:2, 0:w2:2]
    s += g[0:h2:2, 1:w2:2]
    s += g[1:h2:2, 1:w2:2]
    lap_c = _laplacian_abs(s)
    # A frame of a few pixels has no Laplacian at all: call its detail 0 rather than NaN, which
    # would flow through the model and come out as scores that compare false to every threshold.
    lap_mean = float(lap.sum(dtype=np.int64)) / lap.size if lap.size else 0.0
    sq = lap.astype(np.float64)  # squares and their sums stay below 2**53: exact in float64
    lap_ms = float(np.square(sq, out=sq).sum()) / lap.size if lap.size else 0.0
    lap_c_mean = float(lap_c.sum(dtype=np.int64)) / (4.0 * lap_c.size) if lap_c.size else 0.0
    noise = _median_of_counts(np.bincount(lap[::3, ::3].ravel())) if lap.size else 0.0
    short = min(header.width, header.height)
    feats = (
        math.log1p(lap_mean),
        math.log1p(math.sqrt(lap_ms)),
        math.log1p(lap_c_mean),
        lap_mean / (lap_c_mean + 1.0),
        math.log1p(noise),
        mean / 255.0,
        math.sqrt(var) / 128.0,
        float(hist[250:].sum()) / n,
        float(hist[:6].sum()) / n,
        math.log1p(header.jpeg_luma_q) / 5.0 if header.jpeg_luma_q else 0.0,
        math.log2(max(short, 1) / 1000.0),
    )
    return np.asarray(feats, dtype=np.float32)


@lru_cache(maxsize=8)
def _normalise_lut(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256) float32: each channel's 256 levels, normalised by the float32 arithmetic
    (x - mean * 255) * (1 / (std * 255)), so looking a level up equals computing it, bit for bit."""
    levels = np.arange(256, dtype=np.float32)[None, :]
    m = np.asarray(mean, dtype=np.float32)[:, None] * 255.0
    inv_std = 1.0 / (np.asarray(std, dtype=np.float32)[:, None] * 255.0)
    lut = (levels - m) * inv_std
    lut.setflags(write=False)
    return lut


def _normalised_nchw(small: Image.Image, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(1, 3, H, W) float32 straight from the 8-bit bands by table lookup: a third of the time of
    converting to float, normalising and transposing, with no intermediate (H, W, 3) arrays."""
    if small.mode != "RGB":
        raise ValueError(f"prepare needs an 8-bit RGB image, got mode {small.mode}")
    lut = _normalise_lut(tuple(mean), tuple(std))
    out = np.empty((1, 3, small.height, small.width), dtype=np.float32)
    for c, band in enumerate(small.split()):
        np.take(lut[c], np.asarray(band), out=out[0, c])
    return out


def feature_set(version: int, names: tuple[str, ...]) -> FeatureSet:
    """The feature set a manifest asks for; refused unless this core computes exactly those names.

    Older versions stay supported: a model layer is deployed independently of the core layer."""
    fs = FEATURE_SETS.get(version)
    if fs is None:
        raise ValueError(f"model wants quality features v{version}, this core computes v{sorted(FEATURE_SETS)}")
    if tuple(names) != fs.names:
        raise ValueError(f"model's quality feature names differ from v{version}'s: {list(names)}")
    return fs


def prepare(rgb: Image.Image, header: ImageHeader, spec: InputSpec) -> ModelInput:
    """Model inputs for one decoded 8-bit RGB image (see module docstring)."""
    work = analysis_image(rgb, spec.analysis_size)
    small = work.resize((spec.size, spec.size), _FILTERS[spec.resize], reducing_gap=spec.reducing_gap)
    # An embedded profile is applied at model size (~50 k pixels, ~0.5 ms), so the network and the
    # frame statistics see sRGB colours. The window's sharpness and noise statistics do not depend
    # on the colour space, and converting the analysis image instead would cost ~6 ms at 750 px.
    small = as_srgb(small, header)
    pixels = _normalised_nchw(small, spec.mean, spec.std)
    if spec.quality_features is None:
        q = np.zeros((1, 0), dtype=np.float32)
    else:
        fs = feature_set(spec.quality_features.version, spec.quality_features.names)
        window = _center(work, fs.crop).convert("L")
        parts = [quality_features(window, header)]
        if fs.coherence:
            parts.append(np.asarray([grad_coherence(np.asarray(window, dtype=np.float32))], np.float32))
        if fs.frame:
            parts.append(frame_features(small))
        q = np.concatenate(parts)[None]
    return ModelInput(pixels=pixels, quality=q)
