"""The model's input contract: the one InputSpec that training, calibration, evaluation and the
manifest share, so serving prepares pixels exactly as the model was trained on them.

Normalisation: the Lite0 weights were trained by TensorFlow's EfficientNet-Lite recipe, which
feeds (x - 127) / 128, not ImageNet's per-channel mean/std. Measured on real photos (skimage's
and matplotlib's), the stem's batch-norm statistics match (x - 127) / 128 and are off by a
factor of ~2 in scale under ImageNet mean/std (standardised BN mismatch 0.48 against 2.55 at the
stem; 0.21 against 0.48 averaged over all 49 BN layers). ``test_backbone.py`` keeps that check.
"""
from __future__ import annotations

from screener.manifest import InputSpec, QualityFeatureSpec
from screener.preprocess import FEATURE_SETS

IMAGE_INPUT = "image"
QUALITY_INPUT = "quality_features"
SIZE = 224
MEAN = (127.0 / 255.0,) * 3
STD = (128.0 / 255.0,) * 3
# ImageNet's statistics, kept for the normalisation check and for documentation only.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE = "bilinear"
# Pillow's two-step resize: box-reduce by the largest integer factor that keeps the image at least
# the target size, then bilinear. 750 -> 250 -> 224 px costs half of one bilinear pass from 750 px
# (the largest single step of preprocessing, ~2.5 ms of ~7; README "Speed"), and the 3x3 box
# averages every source pixel, so nothing aliases. Since model 1.5.0.
REDUCING_GAP = 1.0
FIT = "squash"
ANALYSIS_SIZE = 640
# The quality-feature set new models train with (``--quality-features``). v3 is v1 plus the
# whole-frame exposure and backdrop statistics: under-exposure was the quality head's most common
# miss among false approvals, and a dark product cannot be told from a dark photo in the central
# window alone. v2 (the same plus motion-blur coherence, on a smaller window) lost sharpness AUC
# and its approval point (model_build/README.md, "Quality features").
DEFAULT_QUALITY_FEATURES = 3


def input_spec(analysis_size: int = ANALYSIS_SIZE, mean=MEAN, std=STD,
               quality_features: int = DEFAULT_QUALITY_FEATURES) -> InputSpec:
    return InputSpec(
        name=IMAGE_INPUT,
        size=SIZE,
        mean=tuple(mean),
        std=tuple(std),
        resize=RESIZE,
        fit=FIT,
        analysis_size=analysis_size,
        quality_features=QualityFeatureSpec(QUALITY_INPUT, quality_features, FEATURE_SETS[quality_features].names),
        reducing_gap=REDUCING_GAP,
    )


def manifest_input(spec: InputSpec) -> dict:
    """The manifest's ``input`` section for ``spec`` (what screener.manifest.parse_manifest reads)."""
    qf = spec.quality_features
    return {
        "name": spec.name,
        "size": spec.size,
        "mean": list(spec.mean),  # full precision: JSON round-trips the exact float
        "std": list(spec.std),
        "resize": spec.resize,
        "fit": spec.fit,
        "analysis_size": spec.analysis_size,
        "reducing_gap": spec.reducing_gap,
        "quality_features": None
        if qf is None
        else {"name": qf.input_name, "version": qf.version, "names": list(qf.names)},
    }
