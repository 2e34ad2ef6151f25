"""The block-15 experiment's arms train what they say they train (on random block-14 maps: this
is about the plumbing; the findings come from the real run, model_build/README.md)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model_build.dataset import ANGLE_LABELS, BACKGROUND_LABELS, LABEL_COLUMNS
from model_build.experiments.block15_ab import score, train_arm
from model_build.features_cache import FeatureSet
from model_build.train import TrainConfig


def _random_set(n: int, views: int, seed: int) -> FeatureSet:
    rng = np.random.default_rng(seed)
    labels = np.full((n, len(LABEL_COLUMNS)), np.nan, np.float32)
    labels[:, 0] = rng.integers(0, len(BACKGROUND_LABELS), n)
    labels[:, 1] = rng.integers(0, len(ANGLE_LABELS), n)
    labels[:, 2] = rng.integers(0, 2, n)
    labels[:, 3] = rng.random(n)
    maps = rng.random((n, views, 192, 7, 7)).astype(np.float16) * 4
    return FeatureSet(maps, rng.random((n, views, 11)).astype(np.float32), labels, None, [{}] * n)


@pytest.fixture(scope="module")
def frozen(backbone):
    backbone.eval().requires_grad_(False)
    return backbone


@pytest.mark.parametrize("arm,block_trained,conv_copy", [("A", False, True), ("B", True, False), ("C", True, True)])
def test_each_arm_trains_its_own_copies_and_leaves_the_backbone(frozen, arm, block_trained, conv_copy):
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    model = train_arm(frozen, _random_set(24, 2, 0), arm, TrainConfig(epochs=2, batch_size=8, threads=1))
    after = frozen.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the shared backbone must stay pretrained"
    assert (model.block is not None) == block_trained
    if block_trained:  # the copy moved away from block 15 (its frozen copy would not)
        w0 = frozen._blocks[-1]._project_conv.weight
        assert not torch.equal(model.block._project_conv.weight, w0)
    assert (model.heads.adapter is not None) == conv_copy
    if conv_copy:
        assert not torch.equal(model.heads.adapter.conv.weight, frozen._conv_head.weight)
    res = score(model, _random_set(30, 1, 1), _random_set(30, 1, 2))
    for k in ("shift_background_acc", "shift_angle_acc", "shift_crop_acc"):
        assert 0.0 <= res[k] <= 1.0
    assert set(res["thresholds"]) == {"background", "angle", "crop", "quality"}
