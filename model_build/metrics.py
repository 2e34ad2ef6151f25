"""Per-head metrics from model outputs and label rows. Pure numpy; no plotting here."""
from __future__ import annotations

import numpy as np

from .dataset import ANGLE_LABELS, BACKGROUND_LABELS, QUALITY_GOOD, background_known


def confusion(true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    m = np.zeros((k, k), dtype=int)
    np.add.at(m, (true.astype(int), pred.astype(int)), 1)
    return m


def f1(true: np.ndarray, pred: np.ndarray) -> float:
    tp = int((true & pred).sum())
    fp = int((~true & pred).sum())
    fn = int((true & ~pred).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def auc(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half)."""
    if len(pos_scores) == 0 or len(neg_scores) == 0:
        return float("nan")
    allv = np.concatenate([pos_scores, neg_scores])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    # average ranks for ties
    i = 0
    while i < len(sorted_v):
        j = i
        while j + 1 < len(sorted_v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[: len(pos_scores)].sum()
    return float((r_pos - len(pos_scores) * (len(pos_scores) + 1) / 2) / (len(pos_scores) * len(neg_scores)))


def reliability(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> dict:
    """Calibration: per confidence bin, mean confidence and observed frequency; plus ECE."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            c, a = float(conf[sel].mean()), float(correct[sel].mean())
            rows.append({"bin": b, "count": int(sel.sum()), "confidence": c, "observed": a})
            ece += sel.mean() * abs(c - a)
    return {"bins": rows, "ece": float(ece)}


def background_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy over the photos whose frame shows a backdrop; NaN when none does."""
    known = background_known(labels)
    return float((scores[known].argmax(1) == labels[known, 0]).mean()) if known.any() else float("nan")


def head_metrics(out: dict[str, np.ndarray], labels: np.ndarray) -> dict:
    known = background_known(labels)
    y_bg, y_ang = labels[known, 0].astype(int), labels[:, 1].astype(int)
    y_crop, y_q = labels[:, 2] > 0.5, labels[:, 3]
    p_bg, p_ang = out["background"][known].argmax(1), out["angle"].argmax(1)
    crop_p = out["crop"][:, 0]
    q = np.clip(out["quality"][:, 0], 0, 1)
    good = y_q >= QUALITY_GOOD
    return {
        "n": int(len(labels)),
        "background": {
            # Over the photos that show a backdrop; those labelled "none" have no background to get right.
            "accuracy": background_accuracy(out["background"], labels),
            "n": int(known.sum()),
            "n_none": int((~known).sum()),
            "labels": list(BACKGROUND_LABELS),
            "confusion": confusion(y_bg, p_bg, 3).tolist(),
            "calibration": reliability(out["background"][known].max(1), p_bg == y_bg),
        },
        "angle": {
            "accuracy": float((p_ang == y_ang).mean()),
            "labels": list(ANGLE_LABELS),
            "confusion": confusion(y_ang, p_ang, 4).tolist(),
            "calibration": reliability(out["angle"].max(1), p_ang == y_ang),
        },
        "crop": {
            # The head's output is P(adequate): F1 with "adequate" as the positive class, and the
            # defect class's F1 beside it (the one a reviewer cares about).
            "f1": f1(y_crop, crop_p >= 0.5),
            "f1_defect": f1(~y_crop, crop_p < 0.5),
            "accuracy": float(((crop_p >= 0.5) == y_crop).mean()),
            "labels": ["inadequate", "adequate"],
            "confusion": confusion(y_crop.astype(int), (crop_p >= 0.5).astype(int), 2).tolist(),
            "calibration": reliability(crop_p, y_crop),
        },
        "quality": {
            "mae": float(np.abs(q - y_q).mean()),
            "auc_good_vs_poor": auc(q[good], q[~good]),
            "accuracy_at_0.5": float(((q >= QUALITY_GOOD) == good).mean()),
            "labels": ["poor", "good"],
            "confusion": confusion(good.astype(int), (q >= QUALITY_GOOD).astype(int), 2).tolist(),
            "calibration": reliability(q, good),  # score read as P(good)
        },
    }


def headline(m: dict) -> dict[str, float]:
    """The target figures of one evaluation (fractions, not percent)."""
    return {
        "background_acc": m["background"]["accuracy"],
        "angle_acc": m["angle"]["accuracy"],
        "crop_f1": m["crop"]["f1"],
        "quality_mae": m["quality"]["mae"],
        "quality_auc": m["quality"]["auc_good_vs_poor"],
    }


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of the proportion k/n.

    Held-out sets of a few hundred photos leave wide margins: 2 false approvals in 205 is 1 %,
    but anything from 0.3 % to 3.5 % fits those counts. Wilson's interval stays inside [0, 1] and
    is honest at 0 and n, where the normal approximation collapses to a point."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def category_agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.argmax(1) == b.argmax(1)).mean())
