"""model_build/experiments/backdrop_lpo.py: the left-out photos are exactly the fold's, they train
nothing, and they are what "left_out" scores."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from model_build.experiments.backdrop_lpo import FOLDS, left_out, run_fold
from model_build.features_cache import FeatureSet
from model_build.synth.partition import BACKDROPS
from model_build.train import TrainConfig

from test_adaptation import random_set  # tests/model_build is on sys.path (no package)


def with_backdrops(fs: FeatureSet, backdrops: list[str]) -> FeatureSet:
    return replace(fs, meta=[{"backdrop": b} for b in backdrops])


def test_each_fold_leaves_out_one_training_photo_of_each_class():
    for lifestyle, other in FOLDS:
        assert lifestyle in BACKDROPS["lifestyle"].shared and other in BACKDROPS["other"].shared


def test_the_fold_trains_without_its_photos_and_scores_them(monkeypatch):
    import model_build.experiments.backdrop_lpo as lpo

    names = ["photo_grass", "room_paint", "photo_motorcycle", "white_pure"] * 6
    train = with_backdrops(random_set(24, 2, 0, 192), names)
    assert left_out(train, 0).sum() == 12
    seen = []
    real = lpo.train_heads
    monkeypatch.setattr(lpo, "train_heads", lambda b, fs, cfg, log: seen.append(fs) or real(b, fs, cfg, log=log))
    val = with_backdrops(random_set(10, 1, 1, 192), ["photo_rocket"] * 10)
    res = run_fold(train, {"validation": val}, 0, TrainConfig(epochs=1, batch_size=8, threads=1,
                                                                    background_reads_pretrained=True))
    assert {m["backdrop"] for m in seen[0].meta} == {"room_paint", "white_pure"}
    assert res["left_out"]["n"] == 12
    assert sum(n for _, n in res["left_out"]["photos"].values()) == 12
    assert set(res["left_out"]["photos"]) == {"photo_grass", "photo_motorcycle"}
    assert res["validation"]["photos"]["photo_rocket"][1] == 10
    assert 0.0 <= res["validation"]["background_acc"] <= 1.0
