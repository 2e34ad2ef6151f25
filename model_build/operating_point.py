"""The approval policy's operating point: auto-approve rate against false-approve rate.

Definitions (identical to ``screener.policy.Policy``'s defaults, read from it, not copied):
- a photo is *compliant* when its background is allowed (white, lifestyle), its primary angle is
  allowed (front, side, angle), its cropping is adequate and its quality is >= 0.5;
- *auto-approve rate* = approved compliant photos / compliant photos;
- *false-approve rate* = approved non-compliant photos / non-compliant photos (the share of bad
  photos that slip through). The share of approved photos that are bad is reported beside it.

Every threshold combination on a grid is scored in one vectorised pass (the grid is large);
the frontier points and the chosen point are then re-scored photo by photo with
``screener.policy.decide`` itself, and must agree, so the numbers are the policy's own.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from screener.classifier import Scores
from screener.policy import Policy, Thresholds, Verdict, decide

from .dataset import ANGLE_LABELS, BACKGROUND_LABELS, QUALITY_GOOD

PROB_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998)
QUALITY_GRID = tuple(np.round(np.arange(0.30, 0.901, 0.025), 3))


def compliant(labels: np.ndarray, policy: Policy | None = None) -> np.ndarray:
    """Ground truth from (N, 4) label rows, with the policy's allowed sets."""
    policy = policy or Policy()
    bg_ok = np.isin(labels[:, 0].astype(int), [BACKGROUND_LABELS.index(b) for b in policy.allowed_backgrounds])
    ang_ok = np.isin(labels[:, 1].astype(int), [ANGLE_LABELS.index(a) for a in policy.allowed_angles])
    return bg_ok & ang_ok & (labels[:, 2] > 0.5) & (labels[:, 3] >= QUALITY_GOOD)


def scores_list(out: dict[str, np.ndarray], categories: tuple[str, ...] = ()) -> list[Scores]:
    """Model outputs as the classifier's Scores objects, one per photo."""
    res = []
    for i in range(len(out["background"])):
        res.append(
            Scores(
                background=dict(zip(BACKGROUND_LABELS, map(float, out["background"][i]))),
                angle=dict(zip(ANGLE_LABELS, map(float, out["angle"][i]))),
                crop_ok=float(out["crop"][i, 0]),
                quality=float(np.clip(out["quality"][i, 0], 0.0, 1.0)),
                category=dict(zip(categories, map(float, out["category"][i]))) if categories else {},
            )
        )
    return res


@dataclass(frozen=True)
class Point:
    thresholds: dict[str, float]
    auto_approve: float
    false_approve: float
    approved_bad_share: float  # of approved photos, the share that is non-compliant
    approved: int


def _allowed_mass(out: dict[str, np.ndarray], policy: Policy) -> dict[str, np.ndarray]:
    bg = out["background"][:, [BACKGROUND_LABELS.index(b) for b in sorted(policy.allowed_backgrounds)]].sum(1)
    ang = out["angle"][:, [ANGLE_LABELS.index(a) for a in sorted(policy.allowed_angles)]].sum(1)
    return {"background": bg, "angle": ang, "crop": out["crop"][:, 0], "quality": np.clip(out["quality"][:, 0], 0, 1)}


def sweep(out: dict[str, np.ndarray], labels: np.ndarray, policy: Policy | None = None) -> list[Point]:
    """Every grid combination's (auto-approve, false-approve), vectorised."""
    policy = policy or Policy()
    m = _allowed_mass(out, policy)
    good = compliant(labels, policy)
    n_good, n_bad = max(int(good.sum()), 1), max(int((~good).sum()), 1)
    # Per-head pass masks for every threshold: (T, N) booleans.
    pb = m["background"][None] >= np.asarray(PROB_GRID)[:, None]
    pa = m["angle"][None] >= np.asarray(PROB_GRID)[:, None]
    pc = m["crop"][None] >= np.asarray(PROB_GRID)[:, None]
    pq = m["quality"][None] >= np.asarray(QUALITY_GRID)[:, None]
    points = []
    for (ib, tb), (ia, ta) in itertools.product(enumerate(PROB_GRID), enumerate(PROB_GRID)):
        ba = pb[ib] & pa[ia]  # (N,)
        approve = ba[None, None] & pc[:, None] & pq[None]  # (Tc, Tq, N)
        aa = (approve & good).sum(-1) / n_good
        fa = (approve & ~good).sum(-1) / n_bad
        napp = approve.sum(-1)
        bad_share = (approve & ~good).sum(-1) / np.maximum(napp, 1)
        for ic, iq in itertools.product(range(len(PROB_GRID)), range(len(QUALITY_GRID))):
            points.append(
                Point(
                    {"background": tb, "angle": ta, "crop": PROB_GRID[ic], "quality": float(QUALITY_GRID[iq])},
                    float(aa[ic, iq]), float(fa[ic, iq]), float(bad_share[ic, iq]), int(napp[ic, iq]),
                )
            )
    return points


def frontier(points: list[Point]) -> list[Point]:
    """Pareto front: for each false-approve rate, the highest auto-approve rate."""
    best: list[Point] = []
    for p in sorted(points, key=lambda p: (p.false_approve, -p.auto_approve)):
        if not best or p.auto_approve > best[-1].auto_approve:
            best.append(p)
    return best


def choose(points: list[Point], target_false_approve: float) -> Point:
    """Highest auto-approve with false-approve <= target; ties go to the stricter point."""
    ok = [p for p in points if p.false_approve <= target_false_approve]
    if not ok:
        return min(points, key=lambda p: (p.false_approve, -p.auto_approve))
    return max(ok, key=lambda p: (p.auto_approve, -p.false_approve, sum(p.thresholds.values())))


def evaluate_policy(scores: list[Scores], labels: np.ndarray, thresholds: dict[str, float], policy: Policy | None = None) -> Point:
    """Auto/false-approve rates of ``thresholds`` computed with ``screener.policy.decide``."""
    base = policy or Policy()
    pol = Policy(base.allowed_backgrounds, base.allowed_angles, Thresholds.from_mapping(thresholds))
    good = compliant(labels, base)
    approved = np.array([decide(s, [], pol).verdict is Verdict.APPROVED for s in scores])
    n_good, n_bad = max(int(good.sum()), 1), max(int((~good).sum()), 1)
    napp = int(approved.sum())
    return Point(
        dict(thresholds),
        float((approved & good).sum() / n_good),
        float((approved & ~good).sum() / n_bad),
        float((approved & ~good).sum() / max(napp, 1)),
        napp,
    )


def split_half_check(out: dict[str, np.ndarray], labels: np.ndarray, target_false_approve: float,
                     splits: int = 40, seed: int = 0, policy: Policy | None = None) -> dict:
    """How well the threshold choice carries to photos it was not fitted on, from the validation
    set alone: choose on a random half at ``target_false_approve`` as the build does, score the
    other half with ``screener.policy.decide`` itself (``evaluate_policy``), over ``splits``
    random halves.

    The chosen point's own false-approve rate is fitted to a handful of photos (1 % of ~320
    non-compliant ones is three) out of ~55,000 threshold sets, so it flatters. This estimate
    needs no test photo, but it rests on ~160 non-compliant photos a half and is noisy too: for
    1.6.0 it said 1.69 % where the test sets measured 1.50-1.72 %, for a rejected candidate 1.06 %
    where they measured 1.54-2.01 % (model_build/README.md)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    aa, fa = [], []
    for _ in range(splits):
        order = rng.permutation(n)
        fit, held = np.sort(order[: n // 2]), np.sort(order[n // 2 :])
        pick = choose(sweep({k: v[fit] for k, v in out.items()}, labels[fit], policy), target_false_approve)
        held_point = evaluate_policy(scores_list({k: v[held] for k, v in out.items()}), labels[held], pick.thresholds, policy)
        aa.append(held_point.auto_approve)
        fa.append(held_point.false_approve)
    return {
        "splits": splits, "seed": seed, "fitted_on": n // 2, "scored_on": n - n // 2,
        "held_out_false_approve": {"mean": float(np.mean(fa)), "p90": float(np.quantile(fa, 0.9))},
        "held_out_auto_approve": {"mean": float(np.mean(aa))},
        "per_split": {"false_approve": fa, "auto_approve": aa},
    }
