"""Shadows: the product's cast shadow and contact occlusion on the floor, and its self-shadowing.

Both are ray-cast on a coarse grid (about 240 cells on the long side) and upsampled: shadows
from a softbox are soft, so the coarse grid loses nothing visible and costs a few ms.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from .camera import Camera
from .lighting import Lighting
from .shapes import Primitive, intersect

f32 = np.float32
GRID_LONG_SIDE = 240


def _grid_step(width: int, height: int) -> int:
    return max(1, int(round(max(width, height) / GRID_LONG_SIDE)))


def _soft(grid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-like blur as three box passes: O(1) per cell whatever the penumbra width."""
    if sigma < 2.0:  # narrow: the true kernel is short anyway
        return ndimage.gaussian_filter(grid, sigma, mode="nearest")
    # Three boxes of odd width w have variance 3 (w^2 - 1) / 12 = sigma^2.
    w = 2 * int(round((math.sqrt(4.0 * sigma * sigma + 1.0) - 1) / 2)) + 1
    out = grid
    for _ in range(3):
        out = ndimage.uniform_filter(out, size=w, mode="nearest")
    return out


def _upsample(grid: np.ndarray, step: int, out_h: int, out_w: int) -> np.ndarray:
    """Grid cells of step x step pixels -> per-pixel values (bilinear), cropped to out size."""
    gh, gw = grid.shape
    im = Image.fromarray(grid.astype(np.float32), mode="F").resize((gw * step, gh * step), Image.Resampling.BILINEAR)
    return np.asarray(im)[:out_h, :out_w]


def floor_shadow(prims: tuple[Primitive, ...], cam: Camera, light: Lighting, product_px: float,
                 outline: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """((y0, y1, x0, x1), multiplier) to apply to the sRGB backdrop in that box, or None."""
    W, H = cam.width, cam.height
    step = _grid_step(W, H)
    gw, gh = math.ceil(W / step), math.ceil(H / step)
    px = np.arange(gw, dtype=np.float32) * step + (step - 1) / 2
    py = np.arange(gh, dtype=np.float32) * step + (step - 1) / 2
    dx, dy, dz = cam.rays(px[None, :], py[:, None])
    dx, dy, dz = (np.broadcast_to(a, (gh, gw)) for a in (dx, dy, dz))
    ox, oy, oz = (float(v) for v in cam.pos)
    down = dy < -1e-6
    t = np.where(down, -oy / np.where(down, dy, f32(-1)), f32(0))
    fx, fz = ox + t * dx, oz + t * dz
    lo, hi = outline.min(0), outline.max(0)
    height = float(hi[1])
    centre = (lo + hi) / 2
    L = light.key_dir.copy()
    L[1] = max(L[1], 0.08)
    L /= np.linalg.norm(L)
    reach = max(hi[0] - lo[0], hi[2] - lo[2]) / 2 + height * math.hypot(L[0], L[2]) / L[1] + 0.1
    near = down & ((fx - f32(centre[0])) ** 2 + (fz - f32(centre[2])) ** 2 < f32(reach * reach))
    if not near.any():
        return None
    qx, qz = fx[near], fz[near]
    cast = np.zeros(qx.shape, bool)
    lift = np.full(qx.shape, np.inf, np.float32)  # height of the product above each floor point
    Lf = tuple(float(v) for v in L)
    for p in prims:
        cast |= np.isfinite(intersect(p, (qx, 0.0, qz), Lf))
        lift = np.minimum(lift, intersect(p, (qx, 0.0, qz), (0.0, 1.0, 0.0)))
    ao_h = min(max(0.35 * height, 0.05), 0.3)
    cast_g = np.zeros((gh, gw), np.float32)
    ao_g = np.zeros((gh, gw), np.float32)
    cast_g[near] = cast
    ao_g[near] = np.clip(1 - lift / f32(ao_h), 0, 1)
    cell_px = product_px / step
    cast_g = _soft(cast_g, max(0.6, light.softness * 0.15 * cell_px))
    ao_g = _soft(ao_g, max(0.6, 0.025 * cell_px))
    factor = np.clip(1 - f32(light.shadow) * cast_g - f32(0.55) * ao_g, 0.08, 1.0)
    mult = factor ** f32(1 / 2.2)  # linear light -> sRGB multiplier
    ys, xs = np.nonzero(mult < 0.997)
    if len(ys) == 0:
        return None
    gy0, gy1, gx0, gx1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    y0, x0 = gy0 * step, gx0 * step
    y1, x1 = min(gy1 * step, H), min(gx1 * step, W)
    return (y0, y1, x0, x1), _upsample(mult[gy0:gy1, gx0:gx1], step, y1 - y0, x1 - x0)


def self_shadow(prims: tuple[Primitive, ...], cam: Camera, light: Lighting, ids: np.ndarray, depth: np.ndarray,
                origin: tuple[int, int]) -> np.ndarray:
    """Per-pixel key-light visibility (0..1) over the product region ``ids``/``depth`` whose
    top-left pixel is ``origin`` (x, y): rays from each surface point towards the key light,
    tested against the product's other parts."""
    rh, rw = ids.shape
    step = _grid_step(cam.width, cam.height)
    sy = np.minimum(np.arange(math.ceil(rh / step)) * step + step // 2, rh - 1)
    sx = np.minimum(np.arange(math.ceil(rw / step)) * step + step // 2, rw - 1)
    gid = ids[np.ix_(sy, sx)]
    gt = depth[np.ix_(sy, sx)]
    on = gid >= 0
    lit_g = np.ones(gid.shape, np.float32)
    if on.any():
        yy, xx = np.nonzero(on)
        d = cam.rays((sx[xx] + origin[0]).astype(np.float32), (sy[yy] + origin[1]).astype(np.float32))
        tt = gt[on]
        L = tuple(float(v) for v in light.key_dir)
        pts = [float(cam.pos[j]) + tt * d[j] + f32(0.003 * L[j]) for j in range(3)]
        pid = gid[on]
        occluded = np.zeros(len(tt), bool)
        for j, p in enumerate(prims):
            occluded |= np.isfinite(intersect(p, pts, L)) & (pid != j)
        lit_g[on] = np.where(occluded, f32(0), f32(1))
        lit_g = _soft(lit_g, 0.7)
    # Cell k covers pixels [k*step, (k+1)*step) and was sampled at its middle, which is exactly
    # what resizing the grid by step maps it back to.
    return np.ascontiguousarray(_upsample(lit_g, step, rh, rw))
