"""Light setups and the shading model (Lambert diffuse + Blinn-Phong specular + sheen).

A setup is a key light (a direction and colour, world frame; the camera looks along +z from
-z, so "front" lights have negative z) plus a hemispherical ambient fill, and how soft and dark
the shadows it casts are. All radiometry is linear; textures.py gives linear albedo.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .textures import Material


@dataclass(frozen=True)
class Lighting:
    name: str
    key_dir: np.ndarray  # (3,) unit vector towards the key light
    key: np.ndarray  # (3,) linear RGB intensity
    ambient: np.ndarray  # (3,)
    softness: float  # penumbra width as a fraction of the product's size in the image
    shadow: float  # darkness of the cast shadow on the floor, 0..1


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def make_lighting(name: str, rng: np.random.Generator) -> Lighting:
    u = rng.uniform
    side = 1.0 if rng.random() < 0.5 else -1.0
    white = np.ones(3)
    if name in ("softbox_left", "softbox_right"):
        sx = -1.0 if name == "softbox_left" else 1.0
        d = (sx * u(0.5, 1.0), u(0.6, 1.1), -u(0.5, 1.0))
        return Lighting(name, _unit(d), white * u(0.7, 0.85), white * u(0.38, 0.48), u(0.25, 0.45), u(0.35, 0.55))
    if name == "overhead":
        d = (u(-0.2, 0.2), 1.0, -u(0.1, 0.4))
        return Lighting(name, _unit(d), white * u(0.7, 0.85), white * u(0.38, 0.48), u(0.2, 0.35), u(0.4, 0.6))
    if name == "frontal":
        d = (u(-0.25, 0.25), u(0.2, 0.5), -1.0)
        return Lighting(name, _unit(d), white * u(0.65, 0.8), white * u(0.42, 0.52), u(0.3, 0.45), u(0.25, 0.4))
    if name == "raking_low":  # hard grazing light from one side: deep shadows, strong texture relief
        d = (side, u(0.12, 0.25), u(-0.3, 0.2))
        return Lighting(name, _unit(d), white * u(1.0, 1.2), white * u(0.14, 0.22), u(0.05, 0.12), u(0.6, 0.75))
    if name == "warm_tungsten":  # warm key, cool daylight fill
        d = (side * u(0.5, 1.0), u(0.5, 1.0), -u(0.4, 0.9))
        key = np.array([1.0, 0.74, 0.48]) * u(0.8, 0.95)
        amb = np.array([0.55, 0.63, 0.8]) * u(0.4, 0.5)
        return Lighting(name, _unit(d), key, amb, u(0.2, 0.35), u(0.4, 0.55))
    raise ValueError(f"unknown light setup {name!r}")


def shade(alb: list[np.ndarray], normal: tuple, view: tuple, mat: Material, light: Lighting,
          lit: np.ndarray) -> list[np.ndarray]:
    """Linear RGB radiance as three channel arrays. ``normal`` and ``view`` (surface to camera)
    are unit vectors given as (x, y, z) arrays; ``lit`` is 1 where the key light reaches the
    point and 0 where another part of the product shadows it."""
    f32 = np.float32
    nx, ny, nz = normal
    L = [f32(c) for c in light.key_dir]
    ndl = np.clip(nx * L[0] + ny * L[1] + nz * L[2], 0, 1) * lit
    hemi = f32(0.75) + f32(0.25) * ny  # more fill from the sky/ceiling than from the floor
    dw = 0.45 if mat.metallic else 1.0
    spec = sheen = None
    if mat.specular > 0:
        hx, hy, hz = view[0] + L[0], view[1] + L[1], view[2] + L[2]
        ndh = (nx * hx + ny * hy + nz * hz) / (np.sqrt(hx * hx + hy * hy + hz * hz) + f32(1e-6))
        # Clamped below at 0.5 (minus what the clamp adds): powers of small numbers underflow to
        # denormal floats, which are ~100x slower, and contribute nothing visible anyway.
        floor = f32(0.5 ** mat.shininess)
        spec = f32(mat.specular) * (np.clip(ndh, 0.5, 1) ** f32(mat.shininess) - floor) * (ndl > 0)
    if mat.sheen > 0:
        ndv = np.abs(nx * view[0] + ny * view[1] + nz * view[2])
        sheen = f32(mat.sheen) * (1 - ndv) ** 3
    tint = mat.base / max(float(mat.base.max()), 1e-3) if mat.metallic else np.ones(3)
    out = []
    for c in range(3):
        key, amb = f32(light.key[c]), f32(light.ambient[c])
        light_c = ndl * f32(dw * key) + hemi * f32(dw * amb)
        if sheen is not None:
            light_c += sheen * f32(key + amb)
        if mat.emission > 0:
            light_c += f32(mat.emission)
        o = alb[c] * light_c
        if spec is not None:
            o += spec * f32(key * tint[c])
        out.append(o)
    return out
