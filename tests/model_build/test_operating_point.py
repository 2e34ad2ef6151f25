"""The approval sweep scores thresholds exactly as screener.policy.decide does."""
from __future__ import annotations

import numpy as np

from model_build.evaluate import approval
from model_build.operating_point import choose, compliant, evaluate_policy, frontier, scores_list, sweep


def _fake(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, 3, n), rng.integers(0, 4, n), rng.random(n) < 0.8, rng.random(n)], 1).astype(np.float32)

    def soft(idx, k, sharp):
        z = rng.normal(size=(n, k))
        z[np.arange(n), idx] += sharp
        e = np.exp(z)
        return (e / e.sum(1, keepdims=True)).astype(np.float32)

    out = {
        "background": soft(labels[:, 0].astype(int), 3, 4.0),
        "angle": soft(labels[:, 1].astype(int), 4, 4.0),
        "crop": np.clip(labels[:, 2:3] * 0.8 + rng.random((n, 1)) * 0.2, 0, 1).astype(np.float32),
        "quality": np.clip(labels[:, 3:4] + rng.normal(0, 0.05, (n, 1)), 0, 1).astype(np.float32),
        "category": soft(np.zeros(n, int), 8, 0.0),
    }
    return out, labels


def test_compliance_uses_policy_defaults():
    labels = np.array([[0, 0, 1, 0.9], [1, 2, 1, 0.5], [2, 0, 1, 0.9], [0, 3, 1, 0.9], [0, 0, 0, 0.9], [0, 0, 1, 0.49]], np.float32)
    assert compliant(labels).tolist() == [True, True, False, False, False, False]


def test_vectorised_sweep_matches_decide():
    out, labels = _fake()
    pts = sweep(out, labels)
    scores = scores_list(out)
    for p in frontier(pts)[:: max(1, len(frontier(pts)) // 8)]:
        q = evaluate_policy(scores, labels, p.thresholds)
        assert abs(q.auto_approve - p.auto_approve) < 1e-12 and abs(q.false_approve - p.false_approve) < 1e-12
    best = choose(pts, 0.01)
    assert best.false_approve <= 0.01
    assert all(p.auto_approve <= best.auto_approve for p in pts if p.false_approve <= 0.01)
    res = approval(out, labels, best.thresholds)  # re-checks every frontier point against decide()
    assert res["operating_point"]["auto_approve"] == best.auto_approve
