"""The hand-written EfficientNet-Lite0 loads the package's weights strictly and sees like ImageNet."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model_build.dataset import serving_input
from model_build.efficientnet_lite import EfficientNetLite0, pretrained_state_dict, tf_same_pads
from model_build.input_spec import IMAGENET_MEAN, IMAGENET_STD, input_spec


def test_state_dict_loads_strictly_with_lukemelas_names():
    sd = pretrained_state_dict()
    model = EfficientNetLite0()
    missing, unexpected = model.load_state_dict(sd, strict=True)
    assert not missing and not unexpected
    assert "_blocks.15._project_conv.weight" in sd and "_conv_head.weight" in sd
    # Lite: no squeeze-excite tensors anywhere.
    assert not any("_se_" in k for k in sd)


def test_tf_same_padding_is_asymmetric_for_stride_two():
    assert tf_same_pads(224, 3, 2) == (0, 1)
    assert tf_same_pads(56, 5, 2) == (1, 2)
    assert tf_same_pads(14, 3, 1) == (1, 1)


def _imagenet_top1(backbone, data: bytes, spec) -> tuple[int, float]:
    x = serving_input(data, spec)
    with torch.no_grad():
        _, logits = backbone(torch.from_numpy(x.pixels))
    p = logits.softmax(1)[0]
    return int(p.argmax()), float(p.max())


@pytest.mark.parametrize("photo, cls", [("chelsea.png", 285), ("coffee.png", 967)])  # Egyptian cat, espresso
def test_imagenet_head_names_real_photos(backbone, skimage_data, photo, cls):
    top, p = _imagenet_top1(backbone, (skimage_data / photo).read_bytes(), input_spec())
    assert top == cls
    assert p > 0.5


def _stem_bn_mismatch(backbone, pixels: np.ndarray) -> float:
    """How far the stem's batch statistics are from its BN running statistics (0 = identical)."""
    with torch.no_grad():
        z = backbone._conv_stem(torch.from_numpy(pixels))
    bn = backbone._bn0
    mean, var = z.mean((0, 2, 3)), z.var((0, 2, 3))
    rv = bn.running_var + 1e-3  # a few channels are dead (zero variance): keep the log finite
    return float(((mean - bn.running_mean) ** 2 / rv).mean() + torch.log((var + 1e-3) / rv).pow(2).mean())


def test_manifest_normalisation_matches_the_weights(backbone, skimage_data):
    """The weights expect (x-127)/128 (TF Lite recipe), not ImageNet mean/std: the stem's BN says so."""
    photos = [(skimage_data / n).read_bytes() for n in ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg")]
    ours = np.concatenate([serving_input(d, input_spec()).pixels for d in photos])
    imnet = np.concatenate([serving_input(d, input_spec(mean=IMAGENET_MEAN, std=IMAGENET_STD)).pixels for d in photos])
    assert _stem_bn_mismatch(backbone, ours) < 0.5 * _stem_bn_mismatch(backbone, imnet)
