"""Deterministic benchmark photos: product renders with mild sensor noise, at catalog sizes.

A photo's decode cost depends on its entropy (file size) more than on its pixel count, so the
photos must be noisy like real ones: a clean synthetic render compresses to a fraction of a real
photo's bytes and would flatter every reduced-scale decode. Each photo is a render from the
built-in synthetic catalog (``model_build.synth``) when it is importable, otherwise a procedural
stand-in (gradient backdrop, shaded textured product), then Gaussian sensor noise, then JPEG
(4:2:0, as cameras write; see ``jpeg_quality``) or PNG. Same (kind, side, index) -> same bytes,
so runs are comparable; the encoded files are cached under .cache/bench/images.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CACHE = Path(".cache/bench/images")
JPEG_MB_RANGE = (0.5, 2.0)  # real catalog photos at these sizes
NOISE_SIGMA = 4.0  # 8-bit levels: ISO 400-800 on a product camera
SYNTH_SEED = 7  # catalog stream the scenes are drawn from


def jpeg_quality(side: int) -> int:
    """Large camera files are saved at ~90, smaller web exports higher: either way the files
    land in the 0.5-2 MB range of real catalog photos (the table prints each size)."""
    return 95 if side <= 2000 else 90


@dataclass(frozen=True)
class Photo:
    name: str  # e.g. "jpeg-3000"
    fmt: str  # JPEG | PNG
    side: int
    index: int
    data: bytes

    @property
    def mb(self) -> float:
        return len(self.data) / 1e6


def _synth_render(side: int, index: int) -> np.ndarray | None:
    try:
        from model_build.synth import sample_spec
        from model_build.synth.render import render_scene
    except ImportError:
        return None
    # Walk the catalog from `index` to the first well-framed scene; draw it square at `side`.
    i = index
    while True:
        spec = sample_spec(i, SYNTH_SEED, "train")
        if spec.crop_defect is None and spec.angle != "detail":
            break
        i += 1
    spec = dataclasses.replace(spec, width=side, height=side, defects=())
    return np.asarray(render_scene(spec).image, dtype=np.uint8)


def _procedural(side: int, index: int) -> np.ndarray:
    """A stand-in when model_build is absent: a lit, textured ellipsoid on a sweep."""
    rng = np.random.default_rng(1000 + index)
    y = np.linspace(0.0, 1.0, side, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, side, dtype=np.float32)[None, :]
    base = rng.uniform(200, 250, 3).astype(np.float32)
    img = np.broadcast_to(base * (0.9 + 0.1 * (1 - y))[..., None] * np.ones_like(x)[..., None], (side, side, 3)).copy()
    cx, cy, r = 0.5 + rng.uniform(-0.05, 0.05), 0.5, rng.uniform(0.25, 0.35)
    d2 = ((x - cx) / r) ** 2 + ((y - cy) / (r * 1.2)) ** 2
    inside = d2 < 1.0
    shade = np.sqrt(np.clip(1.0 - d2, 0.0, 1.0)) * 0.7 + 0.3
    weave = 0.5 + 0.5 * np.sin(x * side / 3.0) * np.sin(y * side / 5.0)  # fabric-like texture
    colour = rng.uniform(40, 200, 3).astype(np.float32)
    prod = colour * (shade * (0.8 + 0.2 * weave))[..., None]
    img[inside] = prod[inside]
    return np.clip(img, 0, 255).astype(np.uint8)


def render(side: int, index: int, procedural: bool = False) -> np.ndarray:
    img = None if procedural else _synth_render(side, index)
    return _procedural(side, index) if img is None else img


def add_noise(img: np.ndarray, seed: int, sigma: float = NOISE_SIGMA) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def encode(img: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(img, "RGB")
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality, subsampling="4:2:0")
    else:
        im.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def photo(fmt: str, side: int, index: int = 0, cache: Path | None = CACHE, procedural: bool = False) -> Photo:
    """One benchmark photo, from the cache when an identical one was made before."""
    recipe = f"{fmt}-{side}-{index}-{NOISE_SIGMA}-{jpeg_quality(side)}-{SYNTH_SEED}-{procedural}"
    tag = hashlib.sha1(recipe.encode()).hexdigest()[:10]
    name = f"{fmt.lower()}-{side}"
    path = None if cache is None else cache / f"{name}-{index}-{tag}.{'jpg' if fmt == 'JPEG' else 'png'}"
    if path is not None and path.exists():
        return Photo(name, fmt, side, index, path.read_bytes())
    data = encode(add_noise(render(side, index, procedural), seed=index * 7919 + side), fmt, jpeg_quality(side))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Photo(name, fmt, side, index, data)


def worst_case(cache: Path | None = CACHE, side: int = 7744, progressive_jpeg: bool = False) -> Photo:
    """The costliest photos the default rules still decode, ~60 MP (the pixel cap) under the
    20 MiB byte cap: as PNG, which has no reduced-scale decode (the most time), or as a progressive
    JPEG without chroma subsampling, whose every DCT coefficient libjpeg holds at once, 2 bytes
    per sample (the most memory). A smooth upscaled render, since noise at this size would not fit
    the byte cap. They size Lambda's memory and timeout."""
    fmt, ext = ("JPEG", "jpg") if progressive_jpeg else ("PNG", "png")
    name = f"{fmt.lower()}-{side}{' progressive 4:4:4' if progressive_jpeg else ''}"
    path = None if cache is None else cache / f"{fmt.lower()}-{side}-worstcase.{ext}"
    if path is not None and path.exists():
        return Photo(name, fmt, side, 0, path.read_bytes())
    small = Image.fromarray(render(side // 8, 0), "RGB")
    big = small.resize((side, side), Image.Resampling.BILINEAR)
    if progressive_jpeg:
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=90, subsampling=0, progressive=True)
        data = buf.getvalue()
    else:
        data = encode(np.asarray(big), "PNG")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Photo(name, fmt, side, 0, data)
