"""Scene specifications: every label-relevant choice for one sample, drawn cheaply from a seed.

``sample_spec`` decides everything the labels depend on (product, texture, backdrop, light,
view, framing, size, defects, encoding) without rendering, so label distributions and the
split partition can be checked over thousands of samples in milliseconds; ``render.py`` then
draws the remaining free detail (proportions, colours, exact light direction) from
``render_seed``. Each (seed, split, index) has its own random stream, so a sample never
depends on which other samples were drawn, and the splits never share a stream.

Crop classes are framed with margins between them so labels are unambiguous:

* adequate: the product's box fills 55-88 % of the frame's limiting dimension, centre within
  4 % of the frame centre, and at least 1.5 % margin all round;
* cut: pushed 12-40 % of its own extent past one edge, or framed so tight (115-150 %) that
  it overflows both sides;
* small: its box spans only 7-20 % of the frame's short side (adequate never goes below 55 %);
* offcentre: whole and moderately sized (28-42 %), centred 25-34 % of the frame away from the
  middle along one axis or both.

Detail close-ups are crop-adequate by definition: they frame part of the product on purpose
(and the policy rejects "detail" as a primary angle anyway).

The background label names the backdrop as it was set up, unless the rendered frame shows
none of it (a close-up filled by the product: ``catalog.judged_background`` labels it
``none``). Exposure defects darken a white sweep or blow out a room, but that is a quality
defect, carried by the quality label, not a different background.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import defects as dfx
from .camera import Framing
from .partition import BACKDROPS, DEFECTS, LIGHTS, PRODUCTS, SHIFT_NOVEL_P, SPLITS, TEXTURES, check_split, is_shift_only
from .products import PRIMARY_TEXTURES, TRIM_TEXTURES

BACKGROUND_P = {"white": 0.45, "lifestyle": 0.3, "other": 0.25}
ANGLE_P = {"front": 0.3, "side": 0.22, "angle": 0.3, "detail": 0.18}
CROP_P = {"adequate": 0.7, "cut": 0.12, "small": 0.09, "offcentre": 0.09}
CLEAN_P = 0.6  # share of samples with quality >= 0.85
DEFECT_WEIGHTS = {"gaussian_blur": 0.2, "motion_blur": 0.12, "noise": 0.16, "underexposure": 0.13,
                  "overexposure": 0.12, "jpeg": 0.14, "lowres": 0.13}
PNG_P = 0.15
# Share of non-detail shots taken from 24-45 degrees up. Training needs a view of the top-down
# geometry the shifted set's rugs are shot in (28-50 degrees), without showing it rugs.
HIGH_SHOT_P = 0.15
CLEAN_MAX_SEVERITY = 0.15


@dataclass(frozen=True)
class SceneSpec:
    index: int
    seed: int
    split: str
    product: str
    texture: str  # primary material
    trim: str  # legs, frames, knobs
    background: str
    backdrop: str
    light: str
    angle: str
    yaw: float  # degrees; 0 shows the front, +-90 a side
    elevation: float  # camera elevation, degrees
    crop_defect: str | None
    framing: Framing | None  # None for detail close-ups
    width: int
    height: int
    defects: tuple[tuple[str, float], ...]  # (name, severity), non-zero only, in DEFECTS order
    motion_angle: float
    upscale_filter: str
    encoding: str
    jpeg_quality: int | None
    render_seed: int

    @property
    def crop_ok(self) -> bool:
        return self.crop_defect is None

    @property
    def defect_map(self) -> dict[str, float]:
        return dict(self.defects)

    @property
    def quality(self) -> float:
        """From the nominal severities; a rendered sample's label judges exposure on the frame
        (defects.judged_severities), so it can be higher."""
        return dfx.quality_from(self.defect_map)

    def novel_factors(self) -> list[str]:
        """Which of this sample's families training never sees."""
        return [f for f in (self.product, self.texture, self.backdrop, self.light) if is_shift_only(f)]


def _rng(index: int, seed: int, split: str) -> np.random.Generator:
    if index < 0:
        raise ValueError("index must be >= 0")
    return np.random.default_rng(np.random.SeedSequence([seed % (1 << 64), SPLITS.index(split), index]))


def _choice(rng: np.random.Generator, probs: dict[str, float]) -> str:
    keys = list(probs)
    p = np.array([probs[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _pick(rng: np.random.Generator, items) -> str:
    return items[int(rng.integers(len(items)))]


def sample_spec(index: int, seed: int, split: str) -> SceneSpec:
    check_split(split)
    rng = _rng(index, seed, split)
    u = rng.uniform
    shift = split == "heldout_shift"
    novel = {f: shift and rng.random() < SHIFT_NOVEL_P for f in ("product", "texture", "backdrop", "light")}
    if shift and not any(novel.values()):
        novel[_pick(rng, ["product", "backdrop", "light"])] = True

    product = _pick(rng, PRODUCTS.shift_only if novel["product"] else PRODUCTS.shared)
    allowed = PRIMARY_TEXTURES[product]
    novel_tex = [t for t in allowed if t in TEXTURES.shift_only]
    if novel["texture"] and novel_tex:
        texture = _pick(rng, novel_tex)
    else:
        texture = _pick(rng, [t for t in allowed if t in TEXTURES.shared])
    trim = _pick(rng, TRIM_TEXTURES)
    background = _choice(rng, BACKGROUND_P)
    pool = BACKDROPS[background]
    backdrop = _pick(rng, pool.shift_only if novel["backdrop"] else pool.shared)
    light = _pick(rng, LIGHTS.shift_only if novel["light"] else LIGHTS.shared)
    if shift and not any(is_shift_only(f) for f in (product, texture, backdrop, light)):
        light = _pick(rng, LIGHTS.shift_only)  # the texture flag fell through (no novel texture fits)

    angle = _choice(rng, ANGLE_P)
    view = angle if angle != "detail" else _pick(rng, ["front", "side", "angle"])
    sign = 1.0 if rng.random() < 0.5 else -1.0
    yaw = {"front": u(-8, 8), "side": sign * u(82, 98), "angle": sign * u(30, 60)}[view]
    if product == "rug":  # a rug is shot from higher up, or it is a sliver
        elevation = u(28, 50)
    elif angle == "detail":
        elevation = u(5, 35)
    else:  # mostly near eye level; catalogs also shoot low pieces from above
        elevation = u(24, 45) if rng.random() < HIGH_SHOT_P else u(2, 22)

    crop_defect, framing = None, None
    if angle != "detail":
        crop = _choice(rng, CROP_P)
        framing = _framing(crop, rng)
        crop_defect = None if crop == "adequate" else crop

    long_side = int(round(math.exp(u(math.log(1000), math.log(3000))) / 10) * 10)
    aspect = _choice(rng, {"square": 0.5, "landscape": 0.25, "portrait": 0.25})
    short = int(round(long_side * 0.75))
    width, height = {"square": (long_side, long_side), "landscape": (long_side, short), "portrait": (short, long_side)}[aspect]

    encoding = "PNG" if rng.random() < PNG_P else "JPEG"
    sev = _draw_defects(rng, allow_jpeg=encoding == "JPEG")
    jpeg_quality = None
    if encoding == "JPEG":
        if "jpeg" in sev:
            jpeg_quality = dfx.jpeg_quality_for(sev["jpeg"])
            sev["jpeg"] = round(dfx.jpeg_severity(jpeg_quality), 3)  # exactly what the encoder applies
        else:
            jpeg_quality = int(rng.integers(dfx.JPEG_CLEAN_MIN, 96))
    defects = tuple((d, sev[d]) for d in DEFECTS if sev.get(d, 0.0) > 0)
    return SceneSpec(
        index=index, seed=seed, split=split, product=product, texture=texture, trim=trim, background=background,
        backdrop=backdrop, light=light, angle=angle, yaw=round(float(yaw), 2), elevation=round(float(elevation), 2),
        crop_defect=crop_defect, framing=framing, width=width, height=height, defects=defects,
        motion_angle=float(u(0, 180)), upscale_filter=_pick(rng, ["bicubic", "bilinear"]), encoding=encoding,
        jpeg_quality=jpeg_quality, render_seed=int(rng.integers(1 << 62)),
    )


def _framing(crop: str, rng: np.random.Generator) -> Framing:
    u = rng.uniform
    if crop == "adequate":
        return Framing("fill", u(0.55, 0.88), (0.5 + u(-0.04, 0.04), 0.5 + u(-0.04, 0.04)))
    if crop == "small":
        return Framing("short", u(0.07, 0.2), (0.5 + u(-0.12, 0.12), 0.5 + u(-0.12, 0.12)))
    if crop == "offcentre":
        axes = _choice(rng, {"x": 0.6, "y": 0.25, "xy": 0.15})
        cx = 0.5 + (u(0.25, 0.34) * (1 if rng.random() < 0.5 else -1) if "x" in axes else u(-0.04, 0.04))
        cy = 0.5 + (u(0.25, 0.34) * (1 if rng.random() < 0.5 else -1) if "y" in axes else u(-0.04, 0.04))
        return Framing("fill", u(0.28, 0.42), (cx, cy), margin=0.01)
    if rng.random() < 0.7:  # cut: pushed past one edge
        edge = _choice(rng, {"left": 0.35, "right": 0.35, "top": 0.15, "bottom": 0.15})
        return Framing("fill", u(0.55, 0.95), (0.5 + u(-0.05, 0.05), 0.5 + u(-0.05, 0.05)), push=(edge, u(0.12, 0.4)))
    return Framing("fill", u(1.15, 1.5), (0.5 + u(-0.05, 0.05), 0.5 + u(-0.05, 0.05)), margin=None)


def _draw_defects(rng: np.random.Generator, allow_jpeg: bool) -> dict[str, float]:
    names = [d for d in DEFECT_WEIGHTS if allow_jpeg or d != "jpeg"]
    w = np.array([DEFECT_WEIGHTS[d] for d in names])
    w /= w.sum()
    if rng.random() < CLEAN_P:
        if rng.random() < 0.3:  # a trace of some defect, well within acceptable
            return {names[int(rng.choice(len(names), p=w))]: round(float(rng.uniform(0.02, CLEAN_MAX_SEVERITY)), 3)}
        return {}
    n = 1 if rng.random() < 0.75 else 2
    picked = [names[i] for i in rng.choice(len(names), size=n, replace=False, p=w)]
    if {"underexposure", "overexposure"} <= set(picked):
        picked.remove("overexposure")
    out = {picked[0]: round(float(rng.uniform(CLEAN_MAX_SEVERITY + 0.01, 1.0)), 3)}
    for d in picked[1:]:
        out[d] = round(float(rng.uniform(0.05, 1.0)), 3)
    return out
