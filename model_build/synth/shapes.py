"""3D primitives (box, frustum, ellipsoid): ray intersection and surface attributes, vectorised.

Furniture is composed of a dozen or so primitives. Rendering is ray casting rather than
rasterisation because every primitive has a closed-form ray intersection, which numpy evaluates
over a whole pixel rectangle at once; the same functions answer shadow rays from the floor and
from the product itself.

Conventions: world y is up, the floor is y = 0, the camera looks roughly along +z. Ray
directions need not be unit length: ``t`` is measured in units of the given direction, so
depths from different primitives compare correctly as long as each pixel uses one direction.
All per-pixel maths is float32 (origins are passed as Python floats so numpy keeps float32).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

BOX, FRUSTUM, ELLIPSOID = "box", "frustum", "ellipsoid"
_EPS_DIR = np.float32(1e-9)
_INF = np.float32(np.inf)

Vec3 = Sequence  # three scalars or three mutually broadcastable float32 arrays


@dataclass(frozen=True, eq=False)
class Primitive:
    shape: str  # BOX | FRUSTUM | ELLIPSOID
    centre: np.ndarray  # (3,) world position of the local origin
    rot: np.ndarray  # (3, 3) local -> world; columns are the local axes
    size: np.ndarray  # box: half extents; frustum: (r_bottom, half_height, r_top); ellipsoid: radii
    material: int  # index into the product's material list
    bevel: float = 0.0  # box: radius (m) over which normals roll round the edges (upholstery)

    def moved(self, rot: np.ndarray, offset: np.ndarray) -> "Primitive":
        """The primitive after a rigid world transform x -> rot @ x + offset."""
        return replace(self, centre=rot @ self.centre + offset, rot=rot @ self.rot)

    def outline(self) -> np.ndarray:
        """(N, 3) world points whose projection bounds the primitive's silhouette (within ~1%)."""
        s = self.size
        if self.shape == BOX:
            corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
            local = corners * s
        elif self.shape == FRUSTUM:
            a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
            rims = [np.stack([r * np.sin(a), np.full_like(a, y), r * np.cos(a)], 1) for r, y in ((s[0], -s[1]), (s[2], s[1]))]
            local = np.concatenate(rims)
        else:
            lat, lon = np.meshgrid(np.linspace(-np.pi / 2, np.pi / 2, 13), np.linspace(0, 2 * np.pi, 32, endpoint=False))
            local = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], -1).reshape(-1, 3) * s
        return local @ self.rot.T + self.centre


def rot_y(deg: float) -> np.ndarray:
    """Rotation about the vertical axis; positive turns the product's front (-z) towards -x
    (the image's left), so yaw 90 shows the camera the product's local +x side."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def to_local(prim: Primitive, origin: Vec3, direction: Vec3) -> tuple[list, list]:
    """World ray(s) into the primitive's frame. Scalars stay Python floats (keeps float32 maths)."""
    rt = prim.rot.T
    o = [origin[j] - float(prim.centre[j]) for j in range(3)]
    ol = [_combine(rt[k], o) for k in range(3)]
    dl = [_combine(rt[k], direction) for k in range(3)]
    return ol, dl


def local_origin(prim: Primitive, origin) -> list[float]:
    """A single world point in the primitive's frame."""
    return [float(x) for x in prim.rot.T @ (np.asarray(origin, float) - prim.centre)]


def _combine(row: np.ndarray, v: Vec3):
    """row . v, skipping zero coefficients so an axis-aligned frame keeps scalars scalar."""
    acc = None
    for j in range(3):
        c = float(row[j])
        if c == 0.0:
            continue
        term = c * v[j]
        acc = term if acc is None else acc + term
    return 0.0 if acc is None else acc


def _safe(d):
    """Direction component with exact zeros nudged, so 1/d and o/d never produce NaN."""
    if isinstance(d, float):
        return d if abs(d) > 1e-9 else 1e-9
    return np.copysign(np.maximum(np.abs(d), _EPS_DIR), d)


def intersect(prim: Primitive, origin: Vec3, direction: Vec3) -> np.ndarray:
    """Ray parameter of the first hit in front of the origin (t > 0); inf where the ray misses."""
    ol, dl = to_local(prim, origin, direction)
    return intersect_local(prim, ol, dl)


def intersect_local(prim: Primitive, ol: Vec3, dl: Vec3) -> np.ndarray:
    """``intersect`` for rays already in the primitive's frame."""
    return _KERNELS[prim.shape](ol, dl, prim.size)


def _t_box(o, d, half) -> np.ndarray:
    # Slab test written as centre +/- half-width of each slab's t-interval: one reciprocal per axis.
    tn = tf = None
    for k in range(3):
        inv = 1.0 / _safe(d[k])
        mid = -o[k] * inv
        w = float(half[k]) * np.abs(inv)
        lo, hi = mid - w, mid + w
        tn = lo if tn is None else np.maximum(tn, lo)
        tf = hi if tf is None else np.minimum(tf, hi)
    return np.where((tn <= tf) & (tn > 0), tn, _INF).astype(np.float32, copy=False)


def _t_frustum(o, d, size) -> np.ndarray:
    rb, hh, rt = (float(x) for x in size)
    rc, k = 0.5 * (rb + rt), (rt - rb) / (2.0 * hh)
    ox, oy, oz = o
    dx, dy, dz = d
    r_o = rc + k * oy
    a = dx * dx + dz * dz - (k * k) * dy * dy
    b = 2.0 * (ox * dx + oz * dz - k * r_o * dy)
    c = ox * ox + oz * oz - r_o * r_o
    disc = b * b - 4.0 * a * c
    sq = np.sqrt(np.maximum(disc, 0.0))
    inv2a = 0.5 / _safe(a)
    best = np.full(np.broadcast(disc, dx, dy).shape, _INF, dtype=np.float32)
    for t in ((-b - sq) * inv2a, (-b + sq) * inv2a):
        y = oy + t * dy
        ok = (disc >= 0) & (t > 0) & (np.abs(y) <= hh) & (rc + k * y >= 0) & (t < best)
        best = np.where(ok, t, best)
    sdy = _safe(dy)
    for y_cap, r_cap in ((-hh, rb), (hh, rt)):
        t = (y_cap - oy) / sdy
        x, z = ox + t * dx, oz + t * dz
        ok = (t > 0) & (x * x + z * z <= r_cap * r_cap) & (t < best)
        best = np.where(ok, t, best)
    return best.astype(np.float32, copy=False)


def _t_ellipsoid(o, d, radii) -> np.ndarray:
    ox, oy, oz = (o[i] / float(radii[i]) for i in range(3))
    dx, dy, dz = (d[i] / float(radii[i]) for i in range(3))
    a = dx * dx + dy * dy + dz * dz
    b = 2.0 * (ox * dx + oy * dy + oz * dz)
    c = ox * ox + oy * oy + oz * oz - 1.0
    disc = b * b - 4.0 * a * c
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) * (0.5 / _safe(a))
    return np.where((disc >= 0) & (t > 0), t, _INF).astype(np.float32, copy=False)


_KERNELS = {BOX: _t_box, FRUSTUM: _t_frustum, ELLIPSOID: _t_ellipsoid}


@dataclass(frozen=True)
class Surface:
    normal: tuple[np.ndarray, np.ndarray, np.ndarray]  # world, unit
    u: np.ndarray  # (N,) texture coordinate along the grain (metres)
    v: np.ndarray  # (N,) across the grain (metres)
    local: tuple[np.ndarray, np.ndarray, np.ndarray]  # hit point in the primitive's frame


def surface(prim: Primitive, points: Sequence[np.ndarray]) -> Surface:
    """Normals and texture coordinates at world points (x, y, z arrays) on the primitive.

    Written per coordinate with scalar coefficients: (N, 3) matrix products and fancy indexing
    cost several times more than a handful of elementwise multiply-adds."""
    r = prim.rot
    c = prim.centre
    d = [points[j] - np.float32(c[j]) for j in range(3)]
    q = [d[0] * np.float32(r[0, k]) + d[1] * np.float32(r[1, k]) + d[2] * np.float32(r[2, k]) for k in range(3)]
    s = prim.size
    if prim.shape == BOX:
        n, u, v = _box_surface(q, s, prim.bevel)
    elif prim.shape == FRUSTUM:
        n, u, v = _frustum_surface(q, s)
    else:
        n = [q[k] * np.float32(1.0 / (s[k] * s[k])) for k in range(3)]
        u = np.arctan2(q[0], q[2]) * np.float32(0.5 * (s[0] + s[2]))
        v = q[1]
    nw = [n[0] * np.float32(r[j, 0]) + n[1] * np.float32(r[j, 1]) + n[2] * np.float32(r[j, 2]) for j in range(3)]
    inv = 1 / (np.sqrt(nw[0] * nw[0] + nw[1] * nw[1] + nw[2] * nw[2]) + np.float32(1e-12))
    return Surface((nw[0] * inv, nw[1] * inv, nw[2] * inv), u, v, tuple(q))


def _box_surface(q, half: np.ndarray, bevel: float):
    h = [np.float32(x) for x in half]
    aq = [np.abs(q[k]) for k in range(3)]
    r = [aq[k] * (1 / h[k]) for k in range(3)]
    f0 = (r[0] >= r[1]) & (r[0] >= r[2])
    f1 = ~f0 & (r[1] >= r[2])
    f2 = ~(f0 | f1)
    faces = (f0, f1, f2)
    sign = [np.copysign(np.float32(1), q[k]) for k in range(3)]
    n = []
    for k in range(3):
        if bevel > 0:
            # Rolling the normal towards each neighbouring face near the edge shades the box as
            # if its edges were rounded; at the edge both faces reach 45 degrees.
            bev = np.float32(min(bevel, 0.999 * float(half[k])))
            e = np.clip((aq[k] - (h[k] - bev)) * (1 / bev), 0, 1)
            other = np.tan(e * np.float32(np.pi / 4)) * sign[k]
        else:
            other = np.float32(0)
        n.append(np.where(faces[k], sign[k], other))
    # Texture axes per face: u follows the box's longest in-face axis (wood grain runs lengthways);
    # faces get different offsets so the sides of a board do not repeat its top.
    order = [int(a) for a in np.argsort(-half)]
    ua = [next(a for a in order if a != f) for f in range(3)]
    va = [next(a for a in order if a not in (f, ua[f])) for f in range(3)]
    u = np.where(f0, q[ua[0]], np.where(f1, q[ua[1]] + np.float32(0.37), q[ua[2]] + np.float32(0.74)))
    v = np.where(f0, q[va[0]], np.where(f1, q[va[1]] + np.float32(0.21), q[va[2]] + np.float32(0.42)))
    return n, u, v


def _frustum_surface(q, size: np.ndarray):
    rb, hh, rt = (float(x) for x in size)
    rc, k = 0.5 * (rb + rt), (rt - rb) / (2.0 * hh)
    x, y, z = q
    cap = np.abs(y) >= np.float32(hh - max(1e-4, 1e-3 * hh))
    radius = np.float32(rc) + np.float32(k) * y
    zero = np.float32(0)
    n = [np.where(cap, zero, x), np.where(cap, np.sign(y), -np.float32(k) * radius), np.where(cap, zero, z)]
    u = np.where(cap, x, y)  # grain runs along a leg
    v = np.where(cap, z, np.arctan2(x, z) * np.float32(max(rc, 1e-3)))
    return n, u, v
