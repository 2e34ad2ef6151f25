"""model_build/experiments/head_ensemble.py and train_heads' init_seed: members that share an init
start from the same weights, a soup is the members' mean, an ensemble the mean of their logits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import model_build.train as train_mod
from model_build.experiments.head_ensemble import parse_member, run, soup
from model_build.train import TrainConfig, train_heads

from test_adaptation import random_set  # tests/model_build is on sys.path (no package)

TINY = TrainConfig(epochs=1, batch_size=8, threads=1)


@pytest.fixture(scope="module")
def backbone():
    from model_build.efficientnet_lite import load_pretrained

    return load_pretrained()


def _weights(heads) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in heads.state_dict().items()}


def test_init_seed_sets_the_starting_weights_and_the_data_seed_does_not(backbone, monkeypatch):
    monkeypatch.setattr(train_mod, "fit", lambda *a, **k: None)  # the heads as initialised
    fs = random_set(16, 2, 0, 192)
    a = _weights(train_heads(backbone, fs, TrainConfig(seed=0, threads=1), log=lambda _: None, init_seed=7))
    b = _weights(train_heads(backbone, fs, TrainConfig(seed=1, threads=1), log=lambda _: None, init_seed=7))
    c = _weights(train_heads(backbone, fs, TrainConfig(seed=7, threads=1), log=lambda _: None))
    d = _weights(train_heads(backbone, fs, TrainConfig(seed=0, threads=1), log=lambda _: None))
    assert all(torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]) for k in a)  # init_seed=7 is seed 7's init
    assert not all(torch.equal(a[k], d[k]) for k in a)


def test_soup_is_the_mean_of_the_members(backbone):
    fs = random_set(16, 2, 0, 192)
    m1 = train_heads(backbone, fs, TINY, log=lambda _: None, init_seed=0)
    m2 = train_heads(backbone, fs, TrainConfig(epochs=1, batch_size=8, threads=1, seed=1), log=lambda _: None, init_seed=0)
    s = soup([m1, m2])
    w1, w2, ws = m1.state_dict(), m2.state_dict(), s.state_dict()
    assert any(not torch.equal(w1[k], w2[k]) for k in w1)  # other data orders trained other weights
    for k in ws:
        torch.testing.assert_close(ws[k], ((w1[k].double() + w2[k].double()) / 2).to(w1[k].dtype))


def test_run_scores_members_their_ensemble_and_their_soup():
    train, val = random_set(24, 2, 0, 192), random_set(10, 1, 1, 192)
    arms = run(train, {"validation": val}, [(0, 0), (0, 1)], TINY, log=lambda _: None)
    assert set(arms) == {"member 0:0", "member 0:1", "ensemble", "soup"}
    a, b, e = (arms[k]["validation"] for k in ("member 0:0", "member 0:1", "ensemble"))
    for h in ("background", "angle", "crop", "quality"):
        np.testing.assert_allclose(e[h], (a[h] + b[h]) / 2, rtol=1e-6)
        assert arms["soup"]["validation"][h].shape == a[h].shape
    # members from two inits get no soup: their weights do not share a basin
    assert "soup" not in run(train, {"validation": val}, [(0, 0), (1, 1)], TINY, log=lambda _: None)


def test_parse_member():
    assert parse_member("3:5") == (3, 5)
