"""SceneSpec -> clean RGB render (before capture defects): camera, backdrop, shadows, product.

The product is ray-cast in two passes over the rectangle it projects to: pass one finds the
nearest primitive per pixel (depth test, one primitive's screen box at a time); pass two
computes normals, texture and shading once per visible pixel, grouped by primitive.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backdrops import make_backdrop
from .camera import Camera, frame, look_at
from .lighting import make_lighting, shade
from .products import ROLES, build_product, outline
from .scene import SceneSpec
from .shadows import floor_shadow, self_shadow
from .shapes import Primitive, intersect, intersect_local, local_origin, rot_y, surface
from .textures import albedo, role_materials

f32 = np.float32
SMOOTH = ("lacquer", "metal", "ceramic", "marble")  # textures with little to see in a close-up

# Linear (12-bit) -> sRGB uint8, so converting a million pixels is one table lookup.
_SRGB_LUT = np.round(255 * np.linspace(0, 1, 4096) ** (1 / 2.2)).astype(np.uint8)


@dataclass(frozen=True)
class Rendered:
    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool: product pixels
    camera: Camera


def render_scene(spec: SceneSpec, width: int | None = None, height: int | None = None) -> Rendered:
    """Render the spec at (width, height) — the spec's own size unless given (low-res defect)."""
    W, H = width or spec.width, height or spec.height
    rng = np.random.default_rng(spec.render_seed)
    model = build_product(spec.product, spec.texture, rng)
    turn = rot_y(spec.yaw)
    prims = tuple(p.moved(turn, np.zeros(3)) for p in model.prims)
    roles = {ROLES[p.material] for p in prims}
    mats = role_materials(roles, spec.texture, spec.trim, spec.product, model.pattern, rng)
    light = make_lighting(spec.light, rng)
    pts = outline(prims)
    cam = _camera(spec, prims, model.details, pts, W, H, rng)

    z_wall = float(pts[:, 2].max()) + rng.uniform(0.25, 1.5)  # the back wall, behind the product
    px, py, pz = cam.project(pts)
    vis = pz > 0
    focus = (float(np.clip(px[vis].mean(), 0, W)), float(np.clip(py[vis].mean(), 0, H))) if vis.any() else (W / 2, H / 2)
    product_px = float(max(px[vis].max() - px[vis].min(), py[vis].max() - py[vis].min())) if vis.any() else float(W)
    img = make_backdrop(spec.backdrop, cam, rng, z_wall, focus)
    if not img.flags.writeable:
        img = img.copy()

    sh = floor_shadow(prims, cam, light, product_px, pts)
    if sh is not None:
        (y0, y1, x0, x1), mult = sh
        reg = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = np.clip(reg * mult[..., None] + f32(0.5), 0, 255).astype(np.uint8)

    mask = np.zeros((H, W), bool)
    _draw_product(img, mask, prims, mats, light, cam)
    return Rendered(img, mask, cam)


def _camera(spec: SceneSpec, prims, details, pts: np.ndarray, W: int, H: int, rng) -> Camera:
    lo, hi = pts.min(0), pts.max(0)
    target = (lo + hi) / 2
    size = float(np.linalg.norm(hi - lo))
    el = np.radians(spec.elevation)
    dist = size * rng.uniform(2.2, 4.0)
    pos = target + dist * np.array([0.0, np.sin(el), -np.cos(el)])
    if spec.framing is not None:
        return frame(pts, pos, look_at(pos, target), W, H, spec.framing)
    # Detail: aim at a point on one part and narrow the field to a few centimetres of it.
    surfaces = [i for i, k in details if k == "surface"]
    features = [i for i, k in details if k == "feature"]
    use_surface = bool(surfaces) and (not features or rng.random() < 0.75)
    part = prims[int(rng.choice(surfaces if use_surface else features))]
    local = part.size * rng.uniform(-0.35, 0.35, 3)
    if use_surface and rng.random() < (0.85 if spec.texture in SMOOTH else 0.4):
        # Aim near an edge so a seam, bevel or corner is in frame: a close-up of a plain
        # lacquered panel is otherwise just a flat colour.
        k = int(rng.integers(3))
        local[k] = part.size[k] * rng.uniform(0.6, 0.9) * (1 if rng.random() < 0.5 else -1)
    aim = part.rot @ local + part.centre
    d = aim - pos
    ts = [float(intersect(p, tuple(float(v) for v in pos), tuple(float(v) for v in d))) for p in prims]
    t = min(ts)
    hit = pos + (t if np.isfinite(t) else 1.0) * d
    half = np.sort(part.size)
    if use_surface:
        field = rng.uniform(0.25, 0.6) * 2 * half[1]  # part of the part's middle dimension
    else:
        field = rng.uniform(2.5, 4.5) * 2 * half[0]  # a few times the feature's thickness
    # Never more than a third of the whole product, or a small product's "close-up" is a packshot.
    field = float(np.clip(field, 0.03, min(0.6, size / 3)))
    rot = look_at(pos, hit)
    depth = float(np.linalg.norm(hit - pos))
    f = min(W, H) * depth / field
    return Camera(pos=pos, rot=rot, f=f, cx=W / 2 + rng.uniform(-0.05, 0.05) * W, cy=H / 2 + rng.uniform(-0.05, 0.05) * H,
                  width=W, height=H)


def _screen_box(p: Primitive, cam: Camera) -> tuple[int, int, int, int] | None:
    x, y, z = cam.project(p.outline())
    if (z <= 1e-3).any():  # reaches behind the camera: test the whole frame
        return 0, cam.height, 0, cam.width
    x0, x1 = int(np.floor(x.min())) - 2, int(np.ceil(x.max())) + 2
    y0, y1 = int(np.floor(y.min())) - 2, int(np.ceil(y.max())) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, cam.width), min(y1, cam.height)
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, y1, x0, x1


# Work in blocks of this many pixels: numpy temporaries then stay in cache instead of being
# freshly mapped for every operation, which is 2-3x faster on million-pixel products.
CHUNK = 1 << 16


def _draw_product(img: np.ndarray, mask: np.ndarray, prims, mats, light, cam: Camera) -> None:
    boxes = [_screen_box(p, cam) for p in prims]
    live = [b for b in boxes if b is not None]
    if not live:
        return
    Y0, Y1 = min(b[0] for b in live), max(b[1] for b in live)
    X0, X1 = min(b[2] for b in live), max(b[3] for b in live)
    depth = np.full((Y1 - Y0, X1 - X0), np.inf, np.float32)
    ids = np.full((Y1 - Y0, X1 - X0), -1, np.int16)
    xn, yn = cam.direction_rows()
    pos = [float(v) for v in cam.pos]
    for i, (p, b) in enumerate(zip(prims, boxes)):
        if b is None:
            continue
        y0, y1, x0, x1 = b
        a = p.rot.T @ cam.rot  # camera-frame ray -> primitive frame
        ol = local_origin(p, pos)
        xr = xn[:, x0:x1]
        band = max(1, CHUNK // (x1 - x0))
        for r0 in range(y0, y1, band):
            r1 = min(y1, r0 + band)
            yc = yn[r0:r1, :]
            dl = [f32(a[k, 0]) * xr + (f32(a[k, 1]) * yc + f32(a[k, 2])) for k in range(3)]
            t = intersect_local(p, ol, dl)
            sub_d = depth[r0 - Y0:r1 - Y0, x0 - X0:x1 - X0]
            np.copyto(ids[r0 - Y0:r1 - Y0, x0 - X0:x1 - X0], i, where=t < sub_d)
            np.minimum(sub_d, t, out=sub_d)
    on = ids >= 0
    if not on.any():
        return
    lit_map = self_shadow(prims, cam, light, ids, depth, (X0, Y0))
    region = img[Y0:Y1, X0:X1]
    bg = region.copy()
    for i, (p, b) in enumerate(zip(prims, boxes)):
        if b is None:
            continue
        mat = mats[ROLES[p.material]]
        y0, y1, x0, x1 = (b[0] - Y0, b[1] - Y0, b[2] - X0, b[3] - X0)
        mine = ids[y0:y1, x0:x1] == i
        if not mine.any():
            continue
        footprint = float(depth[y0:y1, x0:x1][mine].mean()) / cam.f  # metres per pixel at this part
        band = max(1, CHUNK // (x1 - x0))
        for r0 in range(y0, y1, band):
            r1 = min(y1, r0 + band)
            m = mine[r0 - y0:r1 - y0]
            n = int(np.count_nonzero(m))
            if n == 0:
                continue
            out = region[r0:r1, x0:x1]
            if n > 0.6 * m.size:  # mostly this part: shade the whole band, copy where it shows
                xs = np.arange(x0 + X0, x1 + X0)[None, :]
                ys = np.arange(r0 + Y0, r1 + Y0)[:, None]
                t = np.where(m, depth[r0:r1, x0:x1], f32(footprint * cam.f))  # keep the unused pixels finite
                rgb = _shade_pixels(p, mat, light, cam, xs, ys, t, lit_map[r0:r1, x0:x1], footprint)
                np.copyto(out, rgb.reshape(out.shape), where=m[..., None])
            else:
                ys, xs = np.nonzero(m)
                rgb = _shade_pixels(p, mat, light, cam, xs + (x0 + X0), ys + (r0 + Y0), depth[r0:r1, x0:x1][ys, xs],
                                    lit_map[r0:r1, x0:x1][ys, xs], footprint)
                out[ys, xs] = rgb
    # Anti-alias the silhouette: blend edge pixels by the [1 2 1] x [1 2 1] / 16 coverage.
    cov = _coverage16(on)
    edge = on & (cov < 16)
    if edge.any():
        a = (cov[edge].astype(np.float32) * f32(1 / 16))[:, None]
        region[edge] = np.clip(region[edge] * a + bg[edge] * (1 - a) + f32(0.5), 0, 255).astype(np.uint8)
    mask[Y0:Y1, X0:X1] = on


def _shade_pixels(p: Primitive, mat, light, cam: Camera, xs: np.ndarray, ys: np.ndarray, t: np.ndarray,
                  lit: np.ndarray, footprint: float) -> np.ndarray:
    """(N, 3) sRGB uint8 for pixels (xs, ys) (broadcastable) whose ray first hits p at depth t."""
    d = [a.ravel() for a in np.broadcast_arrays(*cam.rays(xs, ys))]
    t = t.ravel()
    surf = surface(p, [f32(cam.pos[j]) + t * d[j] for j in range(3)])
    inv = -1 / np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    view = (d[0] * inv, d[1] * inv, d[2] * inv)
    rgb = shade(albedo(mat, surf, footprint), surf.normal, view, mat, light, lit.ravel())
    out = np.empty((len(t), 3), np.uint8)
    for c in range(3):
        out[:, c] = _SRGB_LUT[np.clip(rgb[c] * f32(4095) + f32(0.5), 0, 4095).astype(np.int32)]
    return out


def _coverage16(on: np.ndarray) -> np.ndarray:
    """16 x the [1 2 1] x [1 2 1] / 16 smoothing of a mask, in small-integer arithmetic."""
    p = np.pad(on.astype(np.uint8), 1, mode="edge")
    h = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
    return h[:-2] + 2 * h[1:-1] + h[2:]
