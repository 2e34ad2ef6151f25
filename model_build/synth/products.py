"""Home-furnishings products composed from primitives, with randomised proportions.

Every product is built in its own frame: metres, floor at y = 0, centred on x = z = 0, its front
facing -z (towards a camera at yaw 0). Each kind has a clear front so that front, side and
three-quarter views differ geometrically: a sofa's seat and back face the front and its arm is
its profile; tables and cabinets are wider than deep; a lamp's shade and a vase's body are
rectangular or oval in plan; a rug has fringes on its short ends; a mirror's glass faces the
front; a bench is far longer than deep.

Primitives name a material *role*; textures.py turns roles into materials. ``details`` lists
the parts a close-up may frame: "surface" parts are large enough for texture to fill the frame,
"feature" parts are the small things catalog close-ups also show (a leg, a knob, a seam).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .shapes import BOX, ELLIPSOID, FRUSTUM, Primitive, rot_x, rot_y, rot_z

ROLES = ("primary", "trim", "accent", "shade", "inner", "books", "fringe")
UPHOLSTERY = ("fabric", "velvet", "boucle", "leather")

# Primary textures that make sense for each kind (shift-only ones are filtered out by split).
PRIMARY_TEXTURES = {
    "sofa": ("fabric", "velvet", "boucle", "leather"),
    "chair": ("fabric", "velvet", "boucle", "wood", "rattan", "leather"),
    "table": ("wood", "marble", "concrete", "lacquer", "ceramic"),
    "lamp": ("metal", "wood", "marble", "concrete", "lacquer", "ceramic"),
    "vase": ("marble", "metal", "concrete", "wood", "lacquer", "ceramic"),
    "shelf": ("wood", "lacquer", "metal"),
    "cabinet": ("wood", "lacquer", "rattan", "metal", "leather"),
    "bed": ("fabric", "velvet", "boucle", "wood", "leather"),
    "cushion": ("fabric", "velvet", "boucle", "leather"),
    "rug": ("fabric", "boucle", "leather"),
    "stool": ("wood", "metal", "rattan", "lacquer", "fabric", "velvet", "leather"),
    "mirror": ("wood", "metal", "lacquer", "rattan"),
    "bench": ("wood", "metal", "rattan", "lacquer", "fabric", "velvet", "leather"),
}
TRIM_TEXTURES = ("wood", "metal", "lacquer")


@dataclass(frozen=True)
class ProductModel:
    kind: str
    prims: tuple[Primitive, ...]
    details: tuple[tuple[int, str], ...]  # (primitive index, "surface" | "feature")
    pattern: dict  # extra parameters for patterned roles (rug design extents)


class _Builder:
    def __init__(self):
        self.prims: list[Primitive] = []
        self.details: list[tuple[int, str]] = []

    def _add(self, p: Primitive, detail: str | None) -> int:
        self.prims.append(p)
        if detail:
            self.details.append((len(self.prims) - 1, detail))
        return len(self.prims) - 1

    def box(self, centre, size, role, bevel=0.0, rot=None, detail=None) -> int:
        return self._add(Primitive(BOX, np.asarray(centre, float), np.eye(3) if rot is None else rot,
                                   np.asarray(size, float) / 2, ROLES.index(role), bevel), detail)

    def post(self, x, y0, z, r, height, role, r_top=None, detail=None) -> int:
        """Vertical cylinder or frustum standing on y0."""
        size = np.array([r, height / 2, r if r_top is None else r_top], float)
        return self._add(Primitive(FRUSTUM, np.array([x, y0 + height / 2, z], float), np.eye(3), size,
                                   ROLES.index(role)), detail)

    def rod(self, centre, r, length, role, rot, r_top=None, detail=None) -> int:
        size = np.array([r, length / 2, r if r_top is None else r_top], float)
        return self._add(Primitive(FRUSTUM, np.asarray(centre, float), rot, size, ROLES.index(role)), detail)

    def blob(self, centre, radii, role, rot=None, detail=None) -> int:
        return self._add(Primitive(ELLIPSOID, np.asarray(centre, float), np.eye(3) if rot is None else rot,
                                   np.asarray(radii, float), ROLES.index(role)), detail)

    def legs(self, rng, w, d, h, inset, role="trim", style=None, detail=True):
        style = style or rng.choice(["block", "taper", "round"])
        s = rng.uniform(0.035, 0.06)
        for i, (sx, sz) in enumerate(((-1, -1), (1, -1), (-1, 1), (1, 1))):
            x, z = sx * (w / 2 - inset), sz * (d / 2 - inset)
            det = "feature" if (detail and i == 0) else None
            if style == "block":
                self.box((x, h / 2, z), (s, h, s), role, bevel=0.003, detail=det)
            else:
                self.post(x, 0.0, z, s / 2 * (0.6 if style == "taper" else 1.0), h, role, r_top=s / 2, detail=det)


def _sofa(rng, b: _Builder, seats: int | None = None, width=None):
    w = width or rng.uniform(1.6, 2.4)
    d, leg_h, base_h = rng.uniform(0.82, 1.0), rng.uniform(0.04, 0.16), rng.uniform(0.12, 0.2)
    seat_t, height, back_t = rng.uniform(0.12, 0.18), rng.uniform(0.78, 0.95), rng.uniform(0.16, 0.24)
    arms = rng.random() > 0.12
    arm_w = rng.uniform(0.1, 0.22) if arms else 0.0
    arm_h = min(height - 0.08, rng.uniform(0.55, 0.68))
    soft = rng.uniform(0.025, 0.05)
    b.legs(rng, w, d, leg_h + 0.01, 0.07)
    seat_y = leg_h + base_h
    b.box((0, leg_h + base_h / 2, 0), (w, base_h, d), "primary", bevel=0.02)
    inner = w - 2 * arm_w
    n = seats or (1 if rng.random() < 0.2 else (2 if w < 2.0 else 3))
    seat_d = d - back_t - 0.01
    cushion_role = "accent" if rng.random() < 0.2 else "primary"
    for i in range(n):
        cw = inner / n
        x = -inner / 2 + cw * (i + 0.5)
        b.box((x, seat_y + seat_t / 2, -d / 2 + seat_d / 2), (cw - 0.008, seat_t, seat_d), cushion_role,
              bevel=seat_t * 0.4, detail="surface" if i == 0 else None)
    b.box((0, (seat_y + height) / 2, d / 2 - back_t / 2), (inner if rng.random() < 0.5 else w, height - seat_y, back_t),
          "primary", bevel=soft, detail="surface")
    if rng.random() < 0.6:
        top = seat_y + seat_t
        bh = (height - top) * rng.uniform(0.8, 0.95)
        for i in range(n):
            cw = inner / n
            x = -inner / 2 + cw * (i + 0.5)
            b.box((x, top + bh / 2, d / 2 - back_t - 0.07), (cw - 0.01, bh, 0.15), cushion_role, bevel=0.06,
                  rot=rot_x(rng.uniform(6, 14)))
    if arms:
        roll = rng.random() < 0.35
        ah = arm_h - leg_h - (arm_w * 0.5 if roll else 0.0)
        for sx in (-1, 1):
            x = sx * (w / 2 - arm_w / 2)
            b.box((x, leg_h + ah / 2, 0), (arm_w, ah, d), "primary", bevel=soft, detail="surface" if sx < 0 else None)
            if roll:
                b.rod((x, leg_h + ah, 0), arm_w * 0.55, d, "primary", rot_x(90))
    if rng.random() < 0.5 and n > 1:
        for sx in (-1, 1)[: rng.integers(1, 3)]:
            x = sx * (inner / 2 - 0.3)
            b.box((x, seat_y + seat_t + 0.2, d / 2 - back_t - 0.2), (0.42, 0.42, 0.13), "accent", bevel=0.055,
                  rot=rot_y(sx * rng.uniform(5, 20)) @ rot_x(15))


def _chair(rng, b: _Builder, texture: str):
    if texture in UPHOLSTERY and rng.random() < 0.5:
        return _sofa(rng, b, seats=1, width=rng.uniform(0.72, 0.95))
    seat_h, w, d = rng.uniform(0.43, 0.48), rng.uniform(0.42, 0.52), rng.uniform(0.42, 0.5)
    seat_t = rng.uniform(0.04, 0.07)
    height = rng.uniform(0.8, 0.95)
    wooden = texture not in UPHOLSTERY
    leg_role = "primary" if wooden and rng.random() < 0.6 else "trim"
    b.legs(rng, w, d, seat_h - seat_t, 0.03, role=leg_role, style=rng.choice(["block", "taper"]))
    b.box((0, seat_h - seat_t / 2, 0), (w, seat_t, d), "primary", bevel=0.004 if wooden else 0.02, detail="surface")
    post = rng.uniform(0.03, 0.045)
    tilt = rot_x(rng.uniform(4, 10))
    back_h = height - seat_h
    for sx in (-1, 1):
        b.box((sx * (w / 2 - post / 2), seat_h + back_h / 2, d / 2 - post / 2), (post, back_h, post), leg_role, rot=tilt)
    panel_h = back_h * rng.uniform(0.3, 0.55)
    b.box((0, height - panel_h / 2 - 0.02, d / 2 - post / 2 + 0.02), (w - 2 * post + 0.01, panel_h, rng.uniform(0.025, 0.05)),
          "primary", bevel=0.004 if wooden else 0.015, rot=tilt, detail="surface")
    if rng.random() < 0.6:  # front and side stretchers
        y = rng.uniform(0.1, 0.2)
        b.box((0, y, -d / 2 + 0.03), (w - 0.06, 0.02, 0.02), leg_role)
        for sx in (-1, 1):
            b.box((sx * (w / 2 - 0.03), y + 0.04, 0), (0.02, 0.02, d - 0.06), leg_role)


def _table(rng, b: _Builder):
    style = rng.choice(["dining", "coffee", "console"], p=[0.5, 0.3, 0.2])
    if style == "dining":
        w, d, h = rng.uniform(1.2, 2.0), rng.uniform(0.75, 0.95), rng.uniform(0.73, 0.77)
    elif style == "coffee":
        w, d, h = rng.uniform(0.9, 1.4), rng.uniform(0.5, 0.7), rng.uniform(0.38, 0.46)
    else:
        w, d, h = rng.uniform(1.0, 1.4), rng.uniform(0.35, 0.45), rng.uniform(0.74, 0.8)
    d = min(d, w / 1.5)
    top_t = rng.uniform(0.03, 0.06)
    b.box((0, h - top_t / 2, 0), (w, top_t, d), "primary", bevel=0.004, detail="surface")
    inset = rng.uniform(0.04, 0.1)
    b.legs(rng, w, d, h - top_t, inset, role=rng.choice(["primary", "trim"]))
    apron_h = rng.uniform(0.06, 0.1)
    ya = h - top_t - apron_h / 2
    b.box((0, ya, -d / 2 + inset), (w - 2 * inset, apron_h, 0.02), "primary")
    b.box((0, ya, d / 2 - inset), (w - 2 * inset, apron_h, 0.02), "primary")
    for sx in (-1, 1):
        b.box((sx * (w / 2 - inset), ya, 0), (0.02, apron_h, d - 2 * inset), "primary")
    if style != "dining" and rng.random() < 0.6:
        if style == "console":  # drawer front with a knob marks the front
            dw = (w - 2 * inset) * 0.45
            b.box((0, ya, -d / 2 + inset - 0.012), (dw, apron_h * 0.8, 0.008), "primary", bevel=0.002)
            b.blob((0, ya, -d / 2 + inset - 0.025), (0.014, 0.014, 0.012), "trim", detail="feature")
        else:  # lower shelf
            b.box((0, 0.12, 0), (w - 2 * inset - 0.04, 0.025, d - 2 * inset - 0.02), "primary")


def _lamp(rng, b: _Builder):
    floor = rng.random() < 0.45
    if floor:
        rb = rng.uniform(0.13, 0.19)
        b.post(0, 0, 0, rb, 0.03, "primary", r_top=rb * 0.9, detail="surface")
        stem_h = rng.uniform(1.25, 1.5)
        b.post(0, 0.03, 0, 0.012, stem_h, "trim", detail="feature")
        sw, sh = rng.uniform(0.4, 0.55), rng.uniform(0.28, 0.36)
        y_shade = 0.03 + stem_h - sh * 0.2
    else:
        body_h = rng.uniform(0.22, 0.38)
        bw = rng.uniform(0.11, 0.2)
        b.box((0, 0.0125, 0), (bw * 1.2, 0.025, bw * 0.8), "trim", bevel=0.004)
        if rng.random() < 0.5:
            b.blob((0, 0.025 + body_h / 2, 0), (bw / 2, body_h / 2, bw / 2 * rng.uniform(0.5, 0.75)), "primary",
                   detail="surface")
        else:
            b.box((0, 0.025 + body_h / 2, 0), (bw, body_h, bw * rng.uniform(0.45, 0.7)), "primary", bevel=0.01,
                  detail="surface")
        neck = rng.uniform(0.08, 0.16)
        b.post(0, 0.025 + body_h - 0.01, 0, 0.01, neck, "trim", detail="feature")
        sw, sh = rng.uniform(0.3, 0.45), rng.uniform(0.2, 0.28)
        y_shade = 0.025 + body_h + neck - sh * 0.3
    sd = sw * rng.uniform(0.5, 0.68)
    b.box((0, y_shade + sh / 2, 0), (sw, sh, sd), "shade", bevel=0.004, detail="surface")


def _vase(rng, b: _Builder):
    foot_h, foot_r = rng.uniform(0.015, 0.03), rng.uniform(0.045, 0.07)
    b.post(0, 0, 0, foot_r, foot_h, "primary", r_top=foot_r * 0.9)
    if rng.random() < 0.65:
        rx, ry = rng.uniform(0.09, 0.16), rng.uniform(0.12, 0.22)
        rz = rx * rng.uniform(0.45, 0.7)
        top = foot_h + 2 * ry * 0.96
        b.blob((0, foot_h + ry * 0.96, 0), (rx, ry, rz), "primary", detail="surface")
        shoulder = foot_h + ry * 1.4
    else:
        w, h = rng.uniform(0.14, 0.22), rng.uniform(0.25, 0.4)
        rx = w / 2
        b.box((0, foot_h + h / 2, 0), (w, h, w * rng.uniform(0.4, 0.6)), "primary", bevel=0.012, detail="surface")
        top = foot_h + h
        shoulder = foot_h + h * 0.8
    neck_h, neck_r = rng.uniform(0.05, 0.12), rx * rng.uniform(0.25, 0.38)
    b.post(0, top - 0.01, 0, neck_r, neck_h, "primary", r_top=neck_r * rng.uniform(1.0, 1.5), detail="feature")
    if rng.random() < 0.6:  # a pair of handles left and right of the face
        for sx in (-1, 1):
            b.blob((sx * rx * 0.98, shoulder, 0), (0.016, 0.05, 0.011), "primary", rot=rot_z(sx * 25))


def _shelf(rng, b: _Builder):
    w, h, d = rng.uniform(0.6, 1.2), rng.uniform(0.9, 2.0), rng.uniform(0.28, 0.4)
    t = rng.uniform(0.018, 0.03)
    for sx in (-1, 1):
        b.box((sx * (w / 2 - t / 2), h / 2, 0), (t, h, d), "primary", bevel=0.002, detail="surface" if sx < 0 else None)
    b.box((0, h - t / 2, 0), (w, t, d), "primary", bevel=0.002)
    b.box((0, 0.05, 0), (w - 2 * t, 0.1, d), "primary")
    b.box((0, h / 2, d / 2 - 0.006), (w - 2 * t, h - 0.1, 0.01), "inner")
    n = max(2, int(round(h / 0.36)))
    gap = (h - 0.1 - t) / n
    inner = w - 2 * t
    for i in range(n):
        y0 = 0.1 + i * gap
        if i > 0:
            b.box((0, y0 - t / 2, 0), (inner, t, d - 0.012), "primary", detail="feature" if i == 1 else None)
        r = rng.random()
        if r < 0.75:  # a row of books, flush left or right
            bw = inner * rng.uniform(0.35, 0.8)
            bh = (gap - t) * rng.uniform(0.6, 0.85)
            x = (-inner / 2 + bw / 2) if rng.random() < 0.5 else (inner / 2 - bw / 2)
            b.box((x + 0.002, y0 + bh / 2, 0.0), (bw - 0.004, bh, d * 0.72), "books", bevel=0.002)
            if rng.random() < 0.5:  # an ornament in the space left over
                ox = -np.sign(x) * inner * 0.28
                b.blob((ox, y0 + 0.07, 0), (0.05, 0.07, 0.05), "accent")
        elif r < 0.9:
            b.box((0, y0 + 0.04, 0), (inner * 0.3, 0.08, d * 0.6), "books", rot=rot_y(rng.uniform(-15, 15)))


def _cabinet(rng, b: _Builder):
    tall = rng.random() < 0.4
    if tall:
        w, hc, d = rng.uniform(0.7, 1.1), rng.uniform(1.0, 1.7), rng.uniform(0.45, 0.55)
    else:
        w, hc, d = rng.uniform(1.0, 1.8), rng.uniform(0.55, 0.8), rng.uniform(0.4, 0.5)
    leg_h = rng.uniform(0.08, 0.2) if rng.random() < 0.7 else 0.0
    if leg_h:
        b.legs(rng, w, d, leg_h + 0.01, 0.05)
    else:
        b.box((0, 0.03, 0.01), (w - 0.04, 0.06, d - 0.04), "trim")
        leg_h = 0.06
    b.box((0, leg_h + hc / 2, 0), (w, hc, d), "primary", bevel=0.004, detail="surface")
    b.box((0, leg_h + hc + 0.0125, 0), (w + 0.02, 0.025, d + 0.02), "primary", bevel=0.004)
    cols = rng.integers(2, 5) if not tall else rng.integers(2, 4)
    rows = rng.integers(1, 3) if not tall else rng.integers(2, 5)
    drawers = rng.random() < 0.5
    pw, ph = (w - 0.04) / cols, (hc - 0.04) / rows
    handle = rng.choice(["knob", "bar"])
    face_role = "accent" if rng.random() < 0.25 else "primary"
    first = True
    for c in range(cols):
        for r in range(rows):
            x = -w / 2 + 0.02 + pw * (c + 0.5)
            y = leg_h + 0.02 + ph * (r + 0.5)
            b.box((x, y, -d / 2 - 0.008), (pw - 0.008, ph - 0.008, 0.016), face_role, bevel=0.003)
            hx = x if drawers else x + (pw / 2 - 0.05) * (1 if c % 2 else -1)
            hy = y + (ph * 0.3 if drawers else 0.0)
            det = "feature" if first else None
            if handle == "knob":
                b.blob((hx, hy, -d / 2 - 0.025), (0.015, 0.015, 0.012), "trim", detail=det)
            else:
                size = (0.12, 0.012, 0.015) if drawers else (0.012, min(0.16, ph * 0.4), 0.015)
                b.box((hx, hy, -d / 2 - 0.026), size, "trim", bevel=0.003, detail=det)
            first = False


def _bed(rng, b: _Builder):
    w, length = rng.uniform(1.4, 1.9), rng.uniform(2.0, 2.2)
    leg_h, frame_h = rng.uniform(0.05, 0.15), rng.uniform(0.18, 0.28)
    b.legs(rng, w, length, leg_h + 0.01, 0.06)
    b.box((0, leg_h + frame_h / 2, 0), (w + 0.06, frame_h, length), "primary", bevel=0.02, detail="surface")
    top = leg_h + frame_h
    b.box((0, top + 0.11, -0.02), (w, 0.22, length - 0.06), "accent", bevel=0.04)
    top += 0.22
    duvet_l = length * rng.uniform(0.62, 0.75)
    b.box((0, top + 0.04, -length / 2 + duvet_l / 2 - 0.03), (w + 0.05, 0.08, duvet_l), "accent", bevel=0.035,
          detail="surface")
    for sx in (-1, 1):
        b.box((sx * w * 0.24, top + 0.1, length / 2 - 0.32), (w * 0.42, 0.14, 0.4), "accent", bevel=0.06,
              rot=rot_x(rng.uniform(10, 25)))
    hb_h, hb_t = rng.uniform(0.9, 1.3), rng.uniform(0.07, 0.12)
    b.box((0, hb_h / 2, length / 2 + hb_t / 2), (w + 0.1, hb_h, hb_t), "primary", bevel=rng.uniform(0.01, 0.04),
          detail="surface")
    if rng.random() < 0.3:
        b.box((0, (leg_h + frame_h + 0.15) / 2, -length / 2 - 0.03), (w + 0.1, leg_h + frame_h + 0.15, 0.05), "primary",
              bevel=0.01)


def _cushion(rng, b: _Builder):
    w = rng.uniform(0.4, 0.6)
    h = w if rng.random() < 0.7 else w * rng.uniform(0.55, 0.65)
    t = rng.uniform(0.12, 0.2)
    lean = rng.uniform(4, 14)
    a = np.radians(lean)
    centre = (0, h / 2 * np.cos(a) + t / 2 * np.sin(a), h / 2 * np.sin(a))
    tilt = rot_x(lean)
    b.box(centre, (w, h, t), "primary", bevel=t * 0.45, rot=tilt, detail="surface")
    if rng.random() < 0.4:  # a covered button marks the face
        front = np.asarray(centre) + tilt @ np.array([0, 0, -t / 2])
        b.blob(front, (0.018, 0.018, 0.01), "accent", rot=tilt, detail="feature")


def _rug(rng, b: _Builder):
    length = rng.uniform(1.2, 3.0)
    d = length * rng.uniform(0.55, 0.75)
    t = rng.uniform(0.01, 0.02)
    b.box((0, t / 2, 0), (length, t, d), "primary", bevel=0.004, detail="surface")
    fl = rng.uniform(0.04, 0.09)
    for sx in (-1, 1):
        b.box((sx * (length / 2 + fl / 2), 0.003, 0), (fl, 0.005, d * 0.96), "fringe", detail="feature" if sx < 0 else None)


def _stool(rng, b: _Builder, texture: str):
    if texture in UPHOLSTERY:  # upholstered footstool: wider than deep, on legs
        w = rng.uniform(0.6, 0.9)
        d, leg_h, top_t = w * rng.uniform(0.5, 0.65), rng.uniform(0.12, 0.25), rng.uniform(0.12, 0.22)
        b.legs(rng, w, d, leg_h + 0.01, 0.05)
        b.box((0, leg_h + top_t / 2, 0), (w, top_t, d), "primary", bevel=0.04, detail="surface")
        return
    # Step stool: two treads, the upper one over the rear half, on stepped side panels.
    w, d = rng.uniform(0.38, 0.5), rng.uniform(0.38, 0.46)
    h1, h2, t = rng.uniform(0.2, 0.25), rng.uniform(0.42, 0.5), rng.uniform(0.018, 0.028)
    for sx in (-1, 1):
        x = sx * (w / 2 - t / 2)
        b.box((x, h1 / 2, 0), (t, h1, d), "primary", detail="surface" if sx < 0 else None)
        b.box((x, (h1 + h2) / 2, d / 4), (t, h2 - h1, d / 2), "primary")
    b.box((0, h1 - t / 2, -d / 4), (w, t, d / 2), "primary", bevel=0.003, detail="feature")
    b.box((0, h2 - t / 2, d / 4), (w, t, d / 2), "primary", bevel=0.003)
    b.box((0, (h1 + h2) / 2 - t / 2, 0.0), (w - 2 * t, h2 - h1 - t, t), "primary")
    b.box((0, h1 / 2, -d / 2 + t / 2), (w - 2 * t, h1 - t, t), "primary")


def _mirror(rng, b: _Builder):
    """A floor mirror leaning on the wall: a tall framed slab whose face (the pale glass) is its
    front and whose edge is its profile, like a cushion or a headboard seen without the bed."""
    w, h = rng.uniform(0.45, 0.9), rng.uniform(1.3, 1.9)
    rail, t = rng.uniform(0.03, 0.08), rng.uniform(0.025, 0.05)
    lean = rng.uniform(5, 12)
    a = np.radians(lean)
    tilt = rot_x(lean)
    centre = np.array([0, h / 2 * np.cos(a) + t / 2 * np.sin(a), h / 2 * np.sin(a)])
    for sx in (-1, 1):  # stiles and rails of the frame
        b.box(centre + tilt @ np.array([sx * (w / 2 - rail / 2), 0, 0]), (rail, h, t), "primary", bevel=0.004,
              rot=tilt, detail="surface" if sx < 0 else None)
    for sy in (-1, 1):
        b.box(centre + tilt @ np.array([0, sy * (h / 2 - rail / 2), 0]), (w - 2 * rail, rail, t), "primary",
              bevel=0.004, rot=tilt, detail="feature" if sy < 0 else None)
    b.box(centre + tilt @ np.array([0, 0, t * 0.15]), (w - 2 * rail + 0.01, h - 2 * rail + 0.01, t * 0.6), "accent",
          rot=tilt)
    b.box(centre + tilt @ np.array([0, 0, t / 2 + 0.004]), (w * 0.98, h * 0.98, 0.008), "inner", rot=tilt)


def _bench(rng, b: _Builder, texture: str):
    """A long, low seat on legs: a backless bench has two equal long faces, a backed one a front."""
    w, d, h = rng.uniform(1.0, 1.8), rng.uniform(0.32, 0.45), rng.uniform(0.42, 0.48)
    soft = texture in UPHOLSTERY
    seat_t = rng.uniform(0.08, 0.14) if soft else rng.uniform(0.035, 0.06)
    leg_role = "trim" if soft or rng.random() < 0.4 else "primary"
    b.legs(rng, w, d, h - seat_t, rng.uniform(0.04, 0.12), role=leg_role)
    b.box((0, h - seat_t / 2, 0), (w, seat_t, d), "primary", bevel=0.03 if soft else 0.004, detail="surface")
    if rng.random() < 0.5:  # a backrest along the rear edge marks the front
        back_h = rng.uniform(0.3, 0.45)
        tilt = rot_x(rng.uniform(5, 12))
        b.box((0, h + back_h / 2, d / 2 - 0.03), (w, back_h, 0.04), "primary", bevel=0.01, rot=tilt)
    elif rng.random() < 0.5:  # a lower slatted shelf
        b.box((0, 0.1, 0), (w * 0.85, 0.025, d * 0.8), leg_role, detail="feature")


_BUILDERS: dict[str, Callable] = {
    "sofa": lambda rng, b, tex: _sofa(rng, b),
    "chair": _chair,
    "table": lambda rng, b, tex: _table(rng, b),
    "lamp": lambda rng, b, tex: _lamp(rng, b),
    "vase": lambda rng, b, tex: _vase(rng, b),
    "shelf": lambda rng, b, tex: _shelf(rng, b),
    "cabinet": lambda rng, b, tex: _cabinet(rng, b),
    "bed": lambda rng, b, tex: _bed(rng, b),
    "cushion": lambda rng, b, tex: _cushion(rng, b),
    "rug": lambda rng, b, tex: _rug(rng, b),
    "stool": _stool,
    "mirror": lambda rng, b, tex: _mirror(rng, b),
    "bench": _bench,
}
KINDS = tuple(_BUILDERS)


def build_product(kind: str, texture: str, rng: np.random.Generator) -> ProductModel:
    b = _Builder()
    _BUILDERS[kind](rng, b, texture)
    pattern = {}
    if kind == "rug":
        pattern["rug_half"] = (float(b.prims[0].size[0]), float(b.prims[0].size[2]))
    return ProductModel(kind, tuple(b.prims), tuple(b.details), pattern)


def outline(prims) -> np.ndarray:
    return np.concatenate([p.outline() for p in prims])
