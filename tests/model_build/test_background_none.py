"""Background "none" (a close-up that shows no backdrop): it trains every head but background and
counts in no background figure, while angle, crop, quality and approval still see the photo."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from model_build.dataset import BACKGROUND_NONE, BACKGROUND_UNKNOWN, LABEL_COLUMNS, Labels, background_known, labels_array
from model_build.efficientnet_lite import load_pretrained
from model_build.features_cache import FeatureSet
from model_build.metrics import background_accuracy, head_metrics
from model_build.network import HeadTrainer
from model_build.operating_point import compliant
from model_build.synth.partition import BACKGROUND_NOT_SHOWN
from model_build.train import TrainConfig, _losses, fit_temperatures, train_heads


def _logits(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"background": torch.randn(n, 3, generator=g), "angle": torch.randn(n, 4, generator=g),
            "crop": torch.randn(n, 1, generator=g), "quality": torch.randn(n, 1, generator=g),
            "defects": torch.randn(n, 7, generator=g)}


def _labels(backgrounds: list[int]) -> np.ndarray:
    n = len(backgrounds)
    y = np.full((n, len(LABEL_COLUMNS)), np.nan, np.float32)
    y[:, 0], y[:, 1], y[:, 2], y[:, 3] = backgrounds, np.arange(n) % 4, 1.0, 0.9
    return y


def test_from_names_and_the_labels_array_carry_none_as_unknown():
    assert BACKGROUND_NOT_SHOWN == BACKGROUND_NONE  # the generator writes the training CSV's word
    lb = Labels.from_names("none", "detail", True, 0.9)
    assert lb.background == BACKGROUND_UNKNOWN
    assert not background_known(labels_array([lb]))[0]


def test_background_loss_leaves_out_none_rows_and_stays_finite_when_all_are_none():
    logits = _logits(4)
    y = torch.from_numpy(_labels([0, BACKGROUND_UNKNOWN, 2, BACKGROUND_UNKNOWN]))
    got = _losses(logits, y, smoothing=0.05)["background"]
    want = F.cross_entropy(logits["background"][[0, 2]], torch.tensor([0, 2]), label_smoothing=0.05)
    assert torch.allclose(got, want)
    none = _losses(logits, torch.from_numpy(_labels([BACKGROUND_UNKNOWN] * 4)), smoothing=0.05)
    assert none["background"].item() == 0.0 and all(torch.isfinite(v) for v in none.values())


def test_background_figures_count_only_photos_that_show_a_backdrop():
    y = _labels([0, 1, BACKGROUND_UNKNOWN, BACKGROUND_UNKNOWN])
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]], np.float32)
    assert background_accuracy(scores, y) == 1.0  # the two "none" photos are neither right nor wrong
    assert np.isnan(background_accuracy(scores[2:], y[2:]))
    out = {"background": scores, "angle": np.eye(4, dtype=np.float32)[[0, 1, 2, 3]],
           "crop": np.full((4, 1), 0.9, np.float32), "quality": np.full((4, 1), 0.9, np.float32)}
    m = head_metrics(out, y)["background"]
    assert (m["accuracy"], m["n"], m["n_none"]) == (1.0, 2, 2)
    assert np.asarray(m["confusion"]).sum() == 2
    assert head_metrics(out, y)["angle"]["accuracy"] == 1.0  # every photo still counts for angle
    assert not compliant(y)[2:].any()  # no backdrop to check: never compliant


def _features(backgrounds: list[int], views: int, seed: int) -> FeatureSet:
    """Random block-14 maps (the default adaptation's cache) with the given background labels."""
    rng = np.random.default_rng(seed)
    n = len(backgrounds)
    maps = (rng.random((n, views, 192, 7, 7)) * 4).astype(np.float16)
    return FeatureSet(maps, rng.random((n, views, 11)).astype(np.float32), _labels(backgrounds), None, [{}] * n)


def test_training_and_temperatures_run_with_none_rows():
    cfg = TrainConfig(epochs=2, batch_size=8, threads=1)
    train = _features([BACKGROUND_UNKNOWN if i % 3 == 0 else i % 3 for i in range(24)], 2, 0)
    val = _features([BACKGROUND_UNKNOWN if i % 2 == 0 else i % 3 for i in range(16)], 1, 1)
    backbone = load_pretrained()
    heads = train_heads(backbone, train, cfg, val=val, log=lambda _: None)
    temps = fit_temperatures(HeadTrainer(backbone, heads), val, log=lambda _: None)
    assert all(np.isfinite(t) and t > 0 for t in temps)
