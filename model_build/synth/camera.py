"""Pinhole camera, and framing: where the product lands in the frame and how big.

Framing is solved, not searched: with the camera's position and direction fixed, projected
sizes scale linearly with the focal length and positions shift linearly with the principal
point. So the product's silhouette bounding box, measured once at unit focal length, gives the
exact focal length for a target size and the principal point for a target position. A shifted
principal point is a shift lens: the view stays natural while the product moves off-centre.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Camera:
    pos: np.ndarray  # (3,) world
    rot: np.ndarray  # (3, 3) columns: right, up, forward (world)
    f: float  # focal length, pixels
    cx: float  # principal point, pixels from the left edge
    cy: float  # ... from the top edge
    width: int
    height: int

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points -> pixel x, pixel y (down), depth along the view axis."""
        p = (pts - self.pos) @ self.rot
        z = p[:, 2]
        return self.cx + self.f * p[:, 0] / z, self.cy - self.f * p[:, 1] / z, z

    def direction_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel normalised image coordinates: x as a (1, W) row, y as an (H, 1) column."""
        xs = ((np.arange(self.width, dtype=np.float32) + 0.5 - self.cx) / self.f)[None, :]
        ys = (-(np.arange(self.height, dtype=np.float32) + 0.5 - self.cy) / self.f)[:, None]
        return xs, ys

    def rays(self, px: np.ndarray, py: np.ndarray) -> list[np.ndarray]:
        """World ray directions (camera-z component 1) through pixel centres (px, py)."""
        xn = (px.astype(np.float32) + 0.5 - self.cx) / self.f
        yn = -(py.astype(np.float32) + 0.5 - self.cy) / self.f
        r = self.rot.astype(np.float32)
        return [r[j, 0] * xn + r[j, 1] * yn + r[j, 2] for j in range(3)]

    def scaled(self, s: float, width: int, height: int) -> "Camera":
        """The same view rendered at another pixel size (used for the low-resolution defect)."""
        return replace(self, f=self.f * s, cx=self.cx * s, cy=self.cy * s, width=width, height=height)


def look_at(pos: np.ndarray, target: np.ndarray) -> np.ndarray:
    fwd = target - pos
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross([0.0, 1.0, 0.0], fwd)
    right /= np.linalg.norm(right)
    up = np.cross(fwd, right)
    return np.stack([right, up, fwd], 1)


def unit_bbox(points: np.ndarray, pos: np.ndarray, rot: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box of the points' projection at unit focal length: (x0, x1, y0, y1), y down."""
    p = (points - pos) @ rot
    x = p[:, 0] / p[:, 2]
    y = -p[:, 1] / p[:, 2]
    return float(x.min()), float(x.max()), float(y.min()), float(y.max())


@dataclass(frozen=True)
class Framing:
    """Where the product's bounding box goes.

    size_mode "fill": max(box_w / W, box_h / H) = size (the limiting dimension);
              "short": max(box_w, box_h) / min(W, H) = size (used for too-small products).
    centre: target box centre as fractions of W and H.
    push: (edge, fraction) moves the box that fraction of its own extent past an edge
          ("left", "right", "top", "bottom"), so the frame cuts the product.
    margin: otherwise the box is kept at least this fraction of each dimension inside the frame
            (None: not kept inside, for framing so tight the product overflows the frame).
    """

    size_mode: str
    size: float
    centre: tuple[float, float]
    push: tuple[str, float] | None = None
    margin: float | None = 0.015


def frame(points: np.ndarray, pos: np.ndarray, rot: np.ndarray, width: int, height: int, framing: Framing) -> Camera:
    x0, x1, y0, y1 = unit_bbox(points, pos, rot)
    bw, bh = x1 - x0, y1 - y0
    if framing.size_mode == "fill":
        f = framing.size / max(bw / width, bh / height)
    else:
        f = framing.size * min(width, height) / max(bw, bh)
    pw, ph = f * bw, f * bh  # box size in pixels
    cxp, cyp = framing.centre[0] * width, framing.centre[1] * height
    if framing.push is None and framing.margin is not None:
        mx, my = framing.margin * width, framing.margin * height
        cxp = float(np.clip(cxp, mx + pw / 2, max(mx + pw / 2, width - mx - pw / 2)))
        cyp = float(np.clip(cyp, my + ph / 2, max(my + ph / 2, height - my - ph / 2)))
    elif framing.push is not None:
        edge, frac = framing.push
        if edge == "left":
            cxp = -frac * pw + pw / 2
        elif edge == "right":
            cxp = width + frac * pw - pw / 2
        elif edge == "top":
            cyp = -frac * ph + ph / 2
        else:
            cyp = height + frac * ph - ph / 2
    cx = cxp - f * (x0 + x1) / 2
    cy = cyp - f * (y0 + y1) / 2
    return Camera(pos=pos, rot=rot, f=float(f), cx=float(cx), cy=float(cy), width=width, height=height)
