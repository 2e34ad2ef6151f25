"""Confidence intervals on the held-out figures: Wilson's interval and the targets table."""
from __future__ import annotations

import math

import pytest

from model_build.evaluate import intervals, targets_table
from model_build.metrics import wilson


def test_wilson_matches_the_textbook_values_and_stays_in_range():
    lo, hi = wilson(2, 205)  # the shipped model's false approvals on the shifted set
    assert lo == pytest.approx(0.002680, abs=2e-6) and hi == pytest.approx(0.034869, abs=2e-6)  # worked by hand
    lo, hi = wilson(0, 50)
    assert lo == 0.0 and hi == pytest.approx(0.0713, abs=2e-4)  # not the normal approximation's [0, 0]
    lo, hi = wilson(50, 50)
    assert hi == 1.0 and lo == pytest.approx(0.9287, abs=2e-4)
    assert all(math.isnan(v) for v in wilson(0, 0))


def _res(bg: float, fa: float, aa: float) -> dict:
    return {"heldout_shift": {
        "n": 300,
        "int8": {"background": {"accuracy": bg}, "angle": {"accuracy": 0.7}, "crop": {"f1": 0.9},
                 "quality": {"mae": 0.1, "auc_good_vs_poor": 0.9}},
        "approval": {"compliant": 95, "operating_point": {"false_approve": fa, "auto_approve": aa}},
    }}


def test_targets_say_whether_the_whole_interval_clears_the_target():
    res = _res(bg=0.99, fa=2 / 205, aa=40 / 95)
    ci = intervals(res)
    assert ci["false_approve"][0] < 2 / 205 < ci["false_approve"][1]
    summary = {"background_acc": 0.99, "false_approve": 2 / 205, "auto_approve": 40 / 95, "crop_f1": 0.9}
    rows = {r["figure"]: r for r in targets_table(summary, ci)}
    assert rows["false_approve"]["met"] and not rows["false_approve"]["certain"]  # 1 % met, 3.5 % possible
    assert rows["background_acc"]["met"] and rows["background_acc"]["certain"]  # 297/300: > 0.95 throughout
    assert not rows["auto_approve"]["met"] and not rows["auto_approve"]["certain"]
    assert "ci95" not in rows["crop_f1"]  # F1 is not a proportion of photos: no interval claimed


def test_a_figure_on_the_target_is_met_despite_float_rounding():
    drop = 100 * (488 / 600 - 482 / 600)  # 6 photos of 600: one point, 1.0000000000000009 in floats
    assert drop > 1.0
    rows = {r["figure"]: r for r in targets_table({"int8_drop_points": drop, "auto_approve": 0.7 - 1e-6})}
    assert rows["int8_drop_points"]["met"]
    assert not rows["auto_approve"]["met"]  # a real shortfall still misses
