"""Whole-frame statistics measured on the model-size image: exposure and the backdrop.

Two standards are properties of the whole frame, not of the product, and the pooled CNN features
measure them poorly on photos unlike their training set:
- **exposure**: where the frame's brightest and darkest tones sit. An under-exposed studio photo
  has no tone near white at all; the central quality window, which mostly sees the product,
  cannot tell that from a dark sofa.
- **backdrop**: what surrounds the product is what the border ring of the frame shows. A white
  seamless backdrop is a ring of bright, neutral, uniform, texture-free pixels; a lifestyle room
  is a ring of varied tones with edges; a coloured or patterned backdrop is chromatic or regular.
  "White" is also measured relative to the frame's own highlights, so a white backdrop shot a
  stop dark still reads as the brightest neutral thing in the frame.

Everything is computed on the ``size`` x ``size`` image the model sees (about 50 k pixels), so it
costs well under a millisecond whatever the photo's resolution.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .numeric import median

FRAME_FEATURE_NAMES = (
    "luma_p02",  # 2nd percentile of luma: crushed blacks / lifted shadows
    "luma_p50",  # median luma
    "luma_p98",  # 98th percentile: an under-exposed frame has no highlights
    "frame_clip_high",  # fraction of the whole frame blown out
    "frame_clip_low",  # fraction of the whole frame crushed
    "ring_luma",  # mean luma of the border ring
    "ring_luma_std",  # tonal spread of the ring: rooms vary, seamless paper does not
    "ring_chroma",  # mean (max - min) over RGB: coloured backdrops
    "ring_white",  # fraction of ring pixels bright (>= 235) and neutral
    "ring_white_rel",  # fraction of ring pixels within 8 % of the frame's highlights and neutral
    "ring_edges",  # mean |difference| between neighbouring ring pixels: texture, furniture, patterns
    "ring_uniform",  # fraction of ring pixels within 10 levels of the ring's median
)

RING_FRACTION = 1 / 14  # ring width as a share of the side: 16 px of 224
_NEUTRAL_CHROMA = 24  # max - min over RGB, in levels, below which a pixel counts as neutral


def _percentiles(luma: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Percentiles of an 8-bit image from its histogram: exact levels, no sort."""
    cdf = np.cumsum(np.bincount(luma.ravel(), minlength=256))
    n = cdf[-1]
    return [float(np.searchsorted(cdf, q * n)) / 255.0 for q in qs]


def _ring(a: np.ndarray, b: int) -> np.ndarray:
    """The border ring of an (H, W[, C]) array, width ``b``, as (n[, C]), each pixel once."""
    return np.concatenate([a[:b].reshape(-1, *a.shape[2:]), a[-b:].reshape(-1, *a.shape[2:]),
                           a[b:-b, :b].reshape(-1, *a.shape[2:]), a[b:-b, -b:].reshape(-1, *a.shape[2:])])


def _ring_edges(luma: np.ndarray, b: int) -> float:
    """Mean |step| along the ring's strips (along their length, where the backdrop continues)."""
    steps = [np.abs(np.diff(s, axis=1)).ravel() for s in (luma[:b], luma[-b:])]
    steps += [np.abs(np.diff(s, axis=0)).ravel() for s in (luma[b:-b, :b], luma[b:-b, -b:])]
    steps = np.concatenate(steps)
    return float(steps.mean()) if steps.size else 0.0  # a frame 1 px wide has no steps


def frame_features(small: Image.Image) -> np.ndarray:
    """The FRAME_FEATURE_NAMES statistics of an 8-bit RGB image (the model-size image)."""
    rgb = np.asarray(small, dtype=np.uint8)
    luma8 = np.asarray(small.convert("L"), dtype=np.uint8)
    h, w = luma8.shape
    b = max(1, round(min(h, w) * RING_FRACTION))
    if min(h, w) <= 2 * b:  # too small to have a ring: the whole frame is the border
        b = max(1, min(h, w) // 3)
    p02, p50, p98 = _percentiles(luma8, (0.02, 0.50, 0.98))
    n = luma8.size
    clip_hi = float(np.count_nonzero(luma8 >= 250)) / n
    clip_lo = float(np.count_nonzero(luma8 <= 5)) / n

    luma = luma8.astype(np.int16)
    ring_l = _ring(luma, b)
    ring_c = _ring(rgb, b).astype(np.int16)
    r, g, bl = ring_c[:, 0], ring_c[:, 1], ring_c[:, 2]
    # Elementwise across the three columns: a max/min reduction along an axis of length 3 is ~10x slower.
    chroma = np.maximum(np.maximum(r, g), bl) - np.minimum(np.minimum(r, g), bl)
    neutral = chroma <= _NEUTRAL_CHROMA
    highlight = max(p98 * 255.0, 32.0)  # a black frame has no highlights to be relative to
    ring_median = median(ring_l)
    feats = (
        p02, p50, p98, clip_hi, clip_lo,
        float(ring_l.mean()) / 255.0,
        float(ring_l.std()) / 128.0,
        float(chroma.mean()) / 255.0,
        float(np.count_nonzero(neutral & (ring_l >= 235))) / ring_l.size,
        float(np.count_nonzero(neutral & (ring_l >= 0.92 * highlight))) / ring_l.size,
        _ring_edges(luma, b) / 64.0,
        float(np.count_nonzero(np.abs(ring_l - ring_median) <= 10)) / ring_l.size,
    )
    return np.asarray(feats, dtype=np.float32)
