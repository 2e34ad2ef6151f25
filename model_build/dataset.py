"""Labels and the bytes -> model-input path used for every training, calibration and test image.

Images take exactly the serving path: ``screener.decode.read_header`` -> ``decode_rgb`` at the
spec's analysis size -> ``screener.preprocess.prepare``. Augmented views are made from the
decoded image and then go through the same ``prepare``, so augmentation never bypasses the
serving preprocessing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance

from screener.decode import ImageHeader, decode_rgb, read_header
from screener.manifest import REQUIRED_SOFTMAX_HEADS, InputSpec
from screener.policy import Policy
from screener.preprocess import ModelInput, prepare

BACKGROUND_LABELS: tuple[str, ...] = REQUIRED_SOFTMAX_HEADS["background"]
ANGLE_LABELS: tuple[str, ...] = REQUIRED_SOFTMAX_HEADS["angle"]
# A photo whose frame shows no backdrop (a close-up filled by the product) has no background to
# label: its label is "none", index -1. It still trains angle, crop and quality; the background
# loss and the background accuracy leave it out (``background_known``).
BACKGROUND_NONE = "none"
BACKGROUND_UNKNOWN = -1
# "Good quality" is the policy's default quality threshold; the AUC and the compliance ground
# truth use the same cut so that evaluation measures what the policy decides.
QUALITY_GOOD = Policy().thresholds.quality
# Photographic defects whose severities (0..1) the synthetic catalog records beside the quality
# score (quality = 1 - the worst severity). A retailer's CSV has only the score; these columns
# are then unknown (NaN) and only the score supervises the quality head.
DEFECT_NAMES = ("gaussian_blur", "motion_blur", "noise", "underexposure", "overexposure", "jpeg", "lowres")
LABEL_COLUMNS = ("background", "angle", "crop_ok", "quality", *(f"defect:{d}" for d in DEFECT_NAMES))


@dataclass(frozen=True)
class Labels:
    background: int  # index into BACKGROUND_LABELS, or BACKGROUND_UNKNOWN ("none")
    angle: int  # index into ANGLE_LABELS
    crop_ok: bool  # cropping adequate
    quality: float  # 0..1
    defects: tuple[float, ...] | None = None  # severity per DEFECT_NAMES, when known

    @classmethod
    def from_names(cls, background: str, angle: str, crop_ok: bool, quality: float,
                   defects: dict[str, float] | None = None) -> "Labels":
        sev = None if defects is None else tuple(float(defects.get(d, 0.0)) for d in DEFECT_NAMES)
        bg = BACKGROUND_UNKNOWN if background == BACKGROUND_NONE else BACKGROUND_LABELS.index(background)
        return cls(bg, ANGLE_LABELS.index(angle), bool(crop_ok), float(quality), sev)


def background_known(labels: np.ndarray) -> np.ndarray:
    """Rows of a labels array whose frame shows a backdrop to judge."""
    return labels[:, 0] != BACKGROUND_UNKNOWN


def labels_array(labels: list[Labels]) -> np.ndarray:
    """(N, 11) float32 in LABEL_COLUMNS order; unknown defect severities are NaN."""
    nan = (float("nan"),) * len(DEFECT_NAMES)
    return np.asarray(
        [(lb.background, lb.angle, float(lb.crop_ok), lb.quality, *(lb.defects or nan)) for lb in labels],
        dtype=np.float32,
    ).reshape(-1, len(LABEL_COLUMNS))


def decode_for_model(data: bytes, spec: InputSpec) -> tuple[Image.Image, ImageHeader]:
    """Serving's decode step: header, then RGB at (at least) the analysis size."""
    im, header = read_header(data)
    return decode_rgb(im, spec.analysis_size), header


def serving_input(data: bytes, spec: InputSpec) -> ModelInput:
    """Model inputs for one uploaded file, exactly as serving computes them."""
    rgb, header = decode_for_model(data, spec)
    return prepare(rgb, header, spec)


def augment(rgb: Image.Image, variant: int, rng: np.random.Generator) -> Image.Image:
    """A label-preserving view of a decoded image. Variant 0 is the image itself.

    Only changes that keep every label are allowed: a mirror on odd variants (a side view stays
    a side view, a cut edge stays cut) and a mild colour change (saturation and hue; brightness and contrast
    are left alone because exposure is a quality label, and a white backdrop must stay white).
    """
    if variant == 0:
        return rgb
    out = rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if variant % 2 else rgb
    out = ImageEnhance.Color(out).enhance(float(rng.uniform(0.7, 1.3)))
    shift = int(rng.integers(-12, 13))
    if shift:
        h, s, v = out.convert("HSV").split()
        h = h.point(lambda x: (x + shift) % 256)
        out = Image.merge("HSV", (h, s, v)).convert("RGB")
    return out


def augmented_inputs(data: bytes, spec: InputSpec, variants: int, seed: int) -> list[ModelInput]:
    """``variants`` views of one file through the serving preprocessing (variant 0 = as served)."""
    rgb, header = decode_for_model(data, spec)
    rng = np.random.default_rng(seed)
    return [prepare(augment(rgb, v, rng), header, spec) for v in range(variants)]

