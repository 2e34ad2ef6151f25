"""The labelled sample types that the trainer codes against."""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class SampleLabels:
    background: str  # "white" | "lifestyle" | "other" | "none" (no backdrop in the frame)
    angle: str  # "front" | "side" | "angle" | "detail"
    crop_ok: bool
    crop_defect: str | None  # None | "cut" | "small" | "offcentre"
    quality: float  # 1 - max(defect severity), 3 decimals
    defects: dict[str, float]  # defect name -> severity 0..1 as judged on the frame (only non-zero ones)
    product: str
    texture: str  # the product's primary material
    backdrop: str  # backdrop family id (see partition.py)
    split: str
    width: int
    height: int
    # Recorded for analysis; not part of the retailer's label set.
    yaw: float = 0.0  # product rotation, degrees: 0 front, +-90 side
    elevation: float = 0.0  # camera elevation, degrees
    light: str = ""  # light setup
    backdrop_visible: float = 1.0  # share of the frame the product does not cover


@dataclass(frozen=True)
class Sample:
    image: Image.Image  # RGB, full resolution, before encoding
    labels: SampleLabels
    encoding: str  # "JPEG" or "PNG"
    jpeg_quality: int | None  # below 85 is the heavy-compression defect
