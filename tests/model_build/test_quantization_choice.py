"""Which quantised variant ships (model_build.pipeline.pick_variant)."""
from __future__ import annotations

import pytest

from model_build.pipeline import pick_variant


def _v(size_mb: float, latency_ms: float, drop: float) -> dict:
    return {"size_mb": size_mb, "latency_ms": latency_ms, "worst_drop_points": drop}


def test_the_fastest_variant_within_half_a_point_ships():
    variants = {"slow": _v(5.9, 13.0, 0.1), "fast": _v(5.9, 4.6, 0.4), "faster_but_worse": _v(5.9, 3.0, 0.9)}
    assert pick_variant(variants) == "fast"


def test_when_none_is_within_half_a_point_near_equal_drops_go_to_the_faster():
    # 1.3.0's build: 1.6 against 2.0 points is 2 validation photos; int8 activations ran ~3x slower.
    variants = {"int8, none": _v(5.92, 13.1, 1.6), "uint8, none": _v(5.92, 4.6, 2.0),
                "uint8, first_conv": _v(5.93, 7.0, 1.8), "int8, heads": _v(8.72, 9.6, 1.4)}
    assert pick_variant(variants) == "uint8, none"
    variants["uint8, none"] = _v(5.92, 4.6, 2.2)  # more than half a point worse than the best that fits
    assert pick_variant(variants) == "uint8, first_conv"


def test_variants_over_the_size_budget_never_ship():
    assert pick_variant({"big": _v(8.7, 1.0, 0.0), "small": _v(5.9, 9.0, 3.0)}) == "small"
    with pytest.raises(ValueError, match="MiB"):
        pick_variant({"big": _v(8.7, 1.0, 0.0)})
