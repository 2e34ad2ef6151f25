"""Backdrops: white studio sweeps, lifestyle rooms and photographs, and "other" backdrops.

Everything is full resolution sRGB uint8. Rooms are ray-cast through the same camera as the
product (a floor plane and a back wall), so their perspective matches; they are rendered at
reduced resolution and upsampled, plus optional extra depth-of-field blur, because room
backgrounds in catalog lifestyle shots are out of focus. Studio and pattern backdrops are
sharp, and cheap: one row profile and one column profile broadcast over the frame.

Real photographs come from ``skimage.data`` (bundled with scikit-image, no network); which
count as lifestyle and which as other is decided in partition.py.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from .camera import Camera
from .textures import cell_noise, noise2

f32 = np.float32
# Rooms are rendered with at most this long side and upsampled: the background of a lifestyle
# shot is out of focus, so finer rendering would be blurred away again.
ROOM_LONG_SIDE = 480


@lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    from skimage import data  # imported lazily: only photo backdrops need it

    loaders = {
        "coffee": data.coffee, "astronaut": data.astronaut, "rocket": data.rocket, "camera": data.camera,
        "brick": data.brick, "grass": data.grass, "gravel": data.gravel, "hubble": data.hubble_deep_field,
        "ihc": data.immunohistochemistry, "coins": data.coins, "moon": data.moon, "retina": data.retina,
        "motorcycle": lambda: data.stereo_motorcycle()[0],
    }
    a = np.asarray(loaders[name]())
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a[..., :3].astype(np.uint8))


def make_backdrop(family: str, cam: Camera, rng: np.random.Generator, z_wall: float, focus_xy: tuple[float, float]) -> np.ndarray:
    """(H, W, 3) uint8. ``z_wall``: world z of the back wall / sweep; ``focus_xy``: pixel position
    of the product, where studio spotlights are aimed."""
    if family.startswith("photo_"):
        return _photo_backdrop(family[6:], cam.width, cam.height, rng)
    if family.startswith("room_"):
        return _room(family[5:], cam, rng, z_wall)
    if family in ("white_pure", "white_near", "white_cove", "grey_seamless", "black_seamless"):
        return _studio(family, cam, rng, z_wall, focus_xy)
    return _pattern(family, cam.width, cam.height, rng)


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(a + f32(0.5), 0, 255).astype(np.uint8)


def _junction_row(cam: Camera, z_wall: float) -> float:
    """Image row where the floor meets the wall (the camera has no roll, so it is a row)."""
    p = np.array([[cam.pos[0], 0.0, z_wall]])
    _, y, z = cam.project(p)
    return float(y[0]) if z[0] > 0 else -1e9


def _studio(family: str, cam: Camera, rng: np.random.Generator, z_wall: float, focus) -> np.ndarray:
    W, H = cam.width, cam.height
    u = rng.uniform
    if family == "white_pure":
        return np.full((H, W, 3), 255, np.uint8)  # blown-out seamless: exactly 255 off the shadow
    yj = _junction_row(cam, z_wall)
    rows = np.arange(H, dtype=np.float32)[:, None]
    floor_t = np.clip((rows - yj) / max(H - yj, 1.0), 0, 1) ** f32(1.5)
    band = max(u(0.02, 0.06) * H, 2.0)
    # Near-white sweeps stay within 240-254 away from the product's shadow (the cove may dip
    # to 238): a retailer's "white" standard, not merely a pale backdrop.
    if family == "white_near":
        level, drop, cove, floor_min = u(241, 254), u(0, 4), 0.0, 240.0
    elif family == "white_cove":
        level, drop, cove, floor_min = u(247, 255), u(3, 8), u(4, 9), 238.0
    elif family == "grey_seamless":
        level, drop, cove, floor_min = u(95, 190), u(5, 25), u(0, 12), 0.0
    else:
        level, drop, cove, floor_min = u(12, 40), u(0, 8), 0.0, 0.0
    # Light falls off down the floor towards the camera; the cove where the sweep bends is a
    # soft band of shade.
    prof = f32(level) - f32(drop) * floor_t - f32(cove) * np.exp(-(((rows - f32(yj)) / f32(band)) ** 2))
    if family.startswith("white"):
        tint = np.array([u(-1.5, 1.5), 0.0, u(-1.5, 1.5)], np.float32)  # slightly warm or cool paper
        # White sweeps vary by row only: build one column and broadcast it (cheap at 3000 px).
        col = _to_u8(np.maximum(prof[..., None] + tint, f32(floor_min)))  # (H, 1, 3)
        return np.ascontiguousarray(np.broadcast_to(col, (H, W, 3)))
    cols = np.arange(W, dtype=np.float32)[None, :]
    xr = ((cols - f32(focus[0])) / f32(W)) ** 2
    if family == "grey_seamless":
        img = prof - f32(u(5, 20) * 4) * xr
    else:  # black seamless, with a spotlight pooled around the product
        fy = (rows - f32(focus[1])) / f32(H)
        img = prof + f32(u(15, 45)) * np.exp(-(xr + fy * fy) * f32(6))
    grey = _to_u8(img)  # neutral paper: one plane, repeated into three channels
    return np.repeat(grey[..., None], 3, axis=2)


def _hsv_u8(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i], np.float32) * 255


def _bold_colour(rng) -> np.ndarray:
    """A colour nobody would mistake for a white backdrop."""
    if rng.random() < 0.7:
        return _hsv_u8(rng.random(), rng.uniform(0.5, 1.0), rng.uniform(0.4, 0.95))
    return _hsv_u8(rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.1, 0.55))


def _soft_step(x: np.ndarray, edge_px: float) -> np.ndarray:
    """Anti-aliased step of a signed distance (pixels): 0 below -0.5 px, 1 above +0.5 px."""
    return np.clip(x / f32(edge_px) + f32(0.5), 0, 1)


def _pattern(family: str, W: int, H: int, rng: np.random.Generator) -> np.ndarray:
    c1 = _bold_colour(rng)
    c2 = _bold_colour(rng) if rng.random() < 0.7 else _hsv_u8(0, 0, rng.uniform(0.9, 1.0))  # or on white
    ys = np.arange(H, dtype=np.float32)[:, None]
    xs = np.arange(W, dtype=np.float32)[None, :]
    if family == "solid":
        cx, cy = rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H
        r2 = ((xs - f32(cx)) / f32(W)) ** 2 + ((ys - f32(cy)) / f32(H)) ** 2
        return _to_u8(c1 * (f32(1) - f32(rng.uniform(0, 0.35)) * r2)[..., None])
    if family == "gradient":
        if rng.random() < 0.6:
            a = rng.uniform(0, 2 * np.pi)
            t = (xs / f32(W) - f32(0.5)) * f32(np.cos(a)) + (ys / f32(H) - f32(0.5)) * f32(np.sin(a)) + f32(0.5)
        else:
            t = np.sqrt(((xs / f32(W) - f32(0.5)) ** 2 + (ys / f32(H) - f32(0.5)) ** 2)) * f32(1.6)
        t = np.clip(t, 0, 1)[..., None]
        return _to_u8(c1 + (c2 - c1) * t)
    if family == "stripes":
        period = rng.uniform(0.03, 0.12) * max(W, H)
        orient = rng.choice(["v", "h", "d"])
        coord = xs if orient == "v" else (ys if orient == "h" else (xs + ys) * f32(0.7071))
        duty = rng.uniform(0.3, 0.6)
        ph = np.mod(coord / f32(period), 1)
        d = (np.minimum(ph, 1 - ph) - f32(duty / 2)) * f32(period)  # signed distance to a stripe edge
        out = _to_u8(c1 + (c2 - c1) * _soft_step(d, 1.0)[..., None])
        return np.ascontiguousarray(np.broadcast_to(out, (H, W, 3)))  # v/h stripes: one row/column
    if family == "checks":
        cell = rng.uniform(0.03, 0.1) * max(W, H)
        ax = np.mod(xs / f32(cell), 2) - f32(1)
        ay = np.mod(ys / f32(cell), 2) - f32(1)
        # Product of two anti-aliased square waves: -1/+1 per cell with a 1 px soft edge.
        sx = np.clip((f32(0.5) - np.abs(np.abs(ax) - f32(0.5))) * f32(cell) * f32(2), 0, 1) * np.sign(ax)
        sy = np.clip((f32(0.5) - np.abs(np.abs(ay) - f32(0.5))) * f32(cell) * f32(2), 0, 1) * np.sign(ay)
        w = (f32(0.5) + f32(0.5) * sx * sy)[..., None]
        return _to_u8(c1 + (c2 - c1) * w)
    if family == "dots":
        cell = rng.uniform(0.04, 0.1) * max(W, H)
        r = cell * rng.uniform(0.18, 0.35)
        gx = np.mod(xs, f32(cell)) - f32(cell / 2)
        gy = np.mod(ys, f32(cell)) - f32(cell / 2)
        d = f32(r) - np.sqrt(gx * gx + gy * gy)
        w = _soft_step(d, 1.0)[..., None]
        return _to_u8(c1 + (c2 - c1) * w)
    raise ValueError(f"unknown backdrop {family!r}")


def _photo_backdrop(name: str, W: int, H: int, rng: np.random.Generator) -> np.ndarray:
    src = _photo(name)
    sh, sw = src.shape[:2]
    aspect = W / H
    # Largest crop with the frame's aspect, then a random zoom into it (photos are 300-1400 px,
    # so the upsampled photo is soft, as an out-of-focus background is).
    cw, ch = (sw, sw / aspect) if sw / sh <= aspect else (sh * aspect, sh)
    z = rng.uniform(0.6, 1.0)
    cw, ch = cw * z, ch * z
    x0, y0 = rng.uniform(0, sw - cw), rng.uniform(0, sh - ch)
    im = Image.fromarray(src).resize((W, H), Image.Resampling.BICUBIC, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    a = np.asarray(im)
    if src[..., 0].tobytes() == src[..., 1].tobytes() and rng.random() < 0.5:  # grey photo: warm or cool tint
        tint = np.array([1.0, 0.97, 0.9] if rng.random() < 0.5 else [0.92, 0.97, 1.0], np.float32)
        a = _to_u8(a * tint)
    return np.ascontiguousarray(a)


# Room palettes (sRGB).
_WALLS = [(236, 230, 220), (205, 196, 182), (170, 182, 160), (160, 176, 190), (196, 132, 100), (52, 62, 84),
          (72, 72, 74), (222, 196, 188), (128, 124, 86), (214, 204, 170)]
_FLOOR_WOOD = [(176, 132, 88), (120, 84, 56), (200, 170, 130), (90, 62, 44), (160, 150, 140)]
_BRICK = [(150, 72, 52), (170, 96, 70), (120, 60, 48), (225, 220, 212)]


def _room(style: str, cam: Camera, rng: np.random.Generator, z_wall: float) -> np.ndarray:
    W, H = cam.width, cam.height
    scale = min(0.5, ROOM_LONG_SIDE / max(W, H))
    w2, h2 = max(int(W * scale), 8), max(int(H * scale), 8)
    c2 = cam.scaled(w2 / W, w2, h2)
    xn, yn = c2.direction_rows()
    r = c2.rot.astype(np.float32)
    dx, dy, dz = (np.ascontiguousarray(np.broadcast_to(r[j, 0] * xn + r[j, 1] * yn + r[j, 2], (h2, w2))) for j in range(3))
    ox, oy, oz = (float(v) for v in cam.pos)
    t_wall = np.where(dz > 1e-6, (z_wall - oz) / np.maximum(dz, f32(1e-6)), f32(1e9))
    t_floor = np.where(dy < -1e-6, -oy / np.minimum(dy, f32(-1e-6)), f32(1e9))
    is_floor = t_floor < t_wall
    img = np.empty((h2, w2, 3), np.float32)
    # Wall and floor are shaded separately, each only on its own pixels (1D arrays).
    t = t_wall[~is_floor]
    wall_xy = (ox + t * dx[~is_floor], oy + t * dy[~is_floor], t / f32(c2.f))
    win = None  # (x0, x1, y0, y1) of a window in the back wall
    if rng.random() < 0.6:
        x0 = (-1 if rng.random() < 0.5 else 1) * rng.uniform(0.6, 2.0) - rng.uniform(0.4, 0.7)
        win = (x0, x0 + rng.uniform(0.8, 1.4), rng.uniform(0.7, 0.95), rng.uniform(1.9, 2.4))
    img[~is_floor] = _wall(style, *wall_xy, win, rng)
    t = t_floor[is_floor]
    fdx, fdy, fdz = dx[is_floor], dy[is_floor], dz[is_floor]
    # A pixel's footprint on the floor grows as the view grazes it.
    fpx = t / f32(c2.f) * np.sqrt(fdx * fdx + fdy * fdy + fdz * fdz) / np.maximum(-fdy, f32(0.02))
    img[is_floor] = _floor(style, ox + t * fdx, oz + t * fdz, fpx, z_wall, win, rng)
    im = Image.fromarray(_to_u8(img))
    sigma = rng.uniform(0.6, 5.0) * w2 / W  # depth of field, given in full-resolution pixels
    if sigma > 0.3:
        im = im.filter(ImageFilter.GaussianBlur(sigma))
    return np.array(im.resize((W, H), Image.Resampling.BILINEAR))


def _aa(dist: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Coverage of a line of half-width ``dist`` < 0 region, anti-aliased over one pixel."""
    return np.clip(f32(0.5) - dist / np.maximum(px, f32(1e-6)), 0, 1)


def _wall(style: str, X: np.ndarray, Y: np.ndarray, px: np.ndarray, win, rng) -> np.ndarray:
    u = rng.uniform
    base = np.array(_WALLS[rng.integers(len(_WALLS))], np.float32) * f32(u(0.92, 1.05))
    wall = base * (1 + f32(0.03) * _vnoise(X * f32(3), Y * f32(3), rng))[:, None]
    if style == "brick":
        bw, bh, mortar = 0.225, 0.075, 0.01
        row = np.floor(Y / f32(bh))
        xb = X / f32(bw) + f32(0.5) * (row.astype(np.int32) & 1)
        col = np.floor(xb)
        ex = np.minimum(xb - col, 1 - (xb - col)) * f32(bw)
        ey = np.minimum(Y / f32(bh) - row, 1 - (Y / f32(bh) - row)) * f32(bh)
        m = _aa(np.minimum(ex, ey) - f32(mortar / 2), px)[:, None]
        brick = np.array(_BRICK[rng.integers(len(_BRICK))], np.float32)
        per = (1 + f32(0.12) * _cell(row * 131 + col, rng) + f32(0.05) * _vnoise(X * f32(40), Y * f32(40), rng))[:, None]
        wall = brick * per * (1 - m) + np.array([200, 196, 188], np.float32) * m
    elif style == "tile":
        ts = u(0.1, 0.2)
        subway = rng.random() < 0.5
        tw, th = (2 * ts if subway else ts), ts
        row = np.floor(Y / f32(th))
        xb = X / f32(tw) + (f32(0.5) * (row.astype(np.int32) & 1) if subway else f32(0))
        gx = np.minimum(xb - np.floor(xb), np.ceil(xb) - xb) * f32(tw)
        gy = np.minimum(Y / f32(th) - row, 1 - (Y / f32(th) - row)) * f32(th)
        g = _aa(np.minimum(gx, gy) - f32(0.002), px)[:, None] * f32(0.35)
        tile = np.array(_WALLS[rng.integers(len(_WALLS))], np.float32)
        wall = tile * (1 + f32(0.04) * _cell(row * 71 + np.floor(xb), rng))[:, None] * (1 - g) + f32(150) * g
    elif style == "panel":  # wainscoting: framed panels below a rail
        top, pw = u(0.8, 1.1), u(0.35, 0.6)
        low = Y < f32(top)
        panel = np.array([236, 234, 228], np.float32) if rng.random() < 0.6 else base * f32(0.85)
        fx = np.mod(X[low] / f32(pw), 1) * f32(pw)
        groove = (np.minimum(fx, f32(pw) - fx) < f32(0.04)) | (np.abs(Y[low] - f32(top * 0.5)) > f32(top * 0.5 - 0.06))
        wall[low] = panel * np.where(groove, f32(0.9), f32(1.0))[:, None]
        wall[np.abs(Y - f32(top)) < f32(0.02)] = panel * f32(1.02)
    if win is not None:  # a window in the back wall, brightening the wall around it
        x0, x1, y0, y1 = win
        inside = (X > f32(x0)) & (X < f32(x1)) & (Y > f32(y0)) & (Y < f32(y1))
        wall *= (f32(1.0) + f32(0.12) * np.exp(-((X - f32((x0 + x1) / 2)) ** 2) / f32(2.0)))[:, None]
        if inside.any():
            wx, wy = X[inside], Y[inside]
            sky = np.array([222, 233, 245], np.float32) + ((wy - f32(y0)) / f32(y1 - y0))[:, None] * np.array([22, 14, 6], np.float32)
            green = (_vnoise(wx * f32(4), wy * f32(4), rng) > f32(u(0.25, 0.65))) & (wy < f32(y0 + 0.5))
            sky[green] = np.array([120, 150, 100], np.float32)
            edge = np.minimum(np.minimum(wx - f32(x0), f32(x1) - wx), np.minimum(wy - f32(y0), f32(y1) - wy))
            bars = (np.abs(wx - f32((x0 + x1) / 2)) < f32(0.025)) | (np.abs(wy - f32((y0 + y1) / 2)) < f32(0.025)) | (edge < f32(0.05))
            sky[bars] = f32(242)
            wall[inside] = sky
    for _ in range(rng.integers(1, 4)):  # decor against the wall, as flat silhouettes
        _decor(wall, X, Y, rng)
    wall[Y < f32(u(0.06, 0.12))] = np.array([238, 236, 232], np.float32)  # skirting board
    return wall * (f32(1) - f32(0.18) * np.exp(-np.maximum(Y, 0) / f32(0.2)))[:, None]  # shade near the floor


def _decor(wall: np.ndarray, X: np.ndarray, Y: np.ndarray, rng) -> None:
    u = rng.uniform
    kind = rng.choice(["frame", "plant", "sidetable", "lamp"])
    x = f32(u(-2.5, 2.5))
    colour = np.array(_WALLS[rng.integers(len(_WALLS))], np.float32) * f32(u(0.3, 0.7))
    ax = np.abs(X - x)
    if kind == "frame":
        w, h, y = u(0.4, 0.9) / 2, u(0.4, 0.9) / 2, f32(u(1.2, 1.6))
        ay = np.abs(Y - y)
        outer = (ax < f32(w)) & (ay < f32(h))
        inner = (ax < f32(w - 0.04)) & (ay < f32(h - 0.04))
        wall[outer & ~inner] = colour
        if inner.any():
            art = np.array(_WALLS[rng.integers(len(_WALLS))], np.float32)
            wall[inner] = art * (1 + f32(0.3) * _vnoise(X[inner] * f32(6), Y[inner] * f32(6), rng))[:, None]
    elif kind == "plant":
        near = ax < f32(0.7)
        xs, ys = X[near], Y[near]
        leaves = ((xs - x) / f32(0.45)) ** 2 + ((ys - f32(0.9)) / f32(0.6)) ** 2 + f32(0.5) * _vnoise(xs * f32(12), ys * f32(12), rng) < f32(1)
        sub = wall[near]
        sub[leaves] = np.array([60, 92, 58], np.float32) * f32(u(0.7, 1.2))
        sub[(np.abs(xs - x) < f32(0.15)) & (ys < f32(0.35))] = colour
        wall[near] = sub
    elif kind == "sidetable":
        wall[((ax < f32(0.3)) & (np.abs(Y - f32(0.55)) < f32(0.02))) | ((np.abs(ax - f32(0.25)) < f32(0.02)) & (Y < f32(0.55)))] = colour
    else:
        wall[(ax < f32(0.012)) & (Y < f32(1.45))] = colour
        wall[(ax < f32(0.2) - (Y - f32(1.4)) * f32(0.2)) & (Y > f32(1.4)) & (Y < f32(1.7))] = np.array([236, 226, 206], np.float32)


def _floor(style: str, X: np.ndarray, Z: np.ndarray, px: np.ndarray, z_wall: float, win, rng) -> np.ndarray:
    u = rng.uniform
    kind = "tile" if style == "tile" and rng.random() < 0.6 else rng.choice(["wood", "wood", "carpet", "concrete"])
    if kind == "wood":
        pw, plank_len = u(0.12, 0.2), u(0.9, 1.6)
        base = np.array(_FLOOR_WOOD[rng.integers(len(_FLOOR_WOOD))], np.float32)
        row = np.floor(X / f32(pw))
        zz = Z / f32(plank_len) + _cell(row, rng) * f32(3.1)
        plank = np.floor(zz)
        tone = 1 + f32(0.1) * _cell(row * 37 + plank, rng)
        tone += f32(0.06) * _vnoise(X * f32(200), Z * f32(8), rng) * np.clip((f32(0.005) / px - 2) / 3, 0, 1)
        seam = np.minimum(np.minimum(X / f32(pw) - row, row + 1 - X / f32(pw)) * f32(pw),
                          np.minimum(zz - plank, plank + 1 - zz) * f32(plank_len))
        floor = base * (tone - f32(0.3) * _aa(seam - f32(0.002), px))[:, None]
    elif kind == "tile":
        ts = u(0.3, 0.6)
        base = np.array([200, 196, 188], np.float32) * f32(u(0.6, 1.15))
        a, b = X / f32(ts), Z / f32(ts)
        fa, fb = np.floor(a), np.floor(b)
        g = np.minimum(np.minimum(a - fa, fa + 1 - a), np.minimum(b - fb, fb + 1 - b)) * f32(ts)
        floor = base * (1 + f32(0.05) * _cell(fa * 57 + fb, rng) - f32(0.35) * _aa(g - f32(0.003), px))[:, None]
    elif kind == "carpet":
        base = np.array(_WALLS[rng.integers(len(_WALLS))], np.float32) * f32(u(0.6, 0.9))
        floor = base * (1 + f32(0.05) * _vnoise(X * f32(30), Z * f32(30), rng))[:, None]
    else:
        base = np.array([150, 148, 144], np.float32) * f32(u(0.8, 1.2))
        floor = base * (1 + f32(0.08) * _vnoise(X * f32(5), Z * f32(5), rng))[:, None]
    if win is not None and rng.random() < 0.7:
        # Sunlight through the window: trace each floor point towards the sun to the wall plane.
        sun = (u(-0.6, 0.6), u(0.5, 0.9), 1.0)
        s = (f32(z_wall) - Z) / f32(sun[2])
        hx, hy = X + s * f32(sun[0]), s * f32(sun[1])
        lit = (hx > f32(win[0])) & (hx < f32(win[1])) & (hy > f32(win[2])) & (hy < f32(win[3]))
        floor[lit] *= f32(u(1.25, 1.5))
    # darker where the floor meets the wall (contact occlusion)
    return floor * (f32(1) - f32(0.25) * np.exp(-np.maximum(f32(z_wall) - Z, 0) / f32(0.25)))[:, None]


def _vnoise(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return noise2(x, y, int(rng.integers(1 << 16)))


def _cell(index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cell_noise(index, int(rng.integers(1 << 16)))
