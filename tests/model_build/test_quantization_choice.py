"""Which quantised variant ships (model_build.pipeline.pick_variant)."""
from __future__ import annotations

import pytest

from model_build.pipeline import pick_variant


def _v(act: str, size_mb: float, latency_ms: float, drop: float, fp32_nodes: int = 0) -> dict:
    return {"activations": act, "size_mb": size_mb, "latency_ms": latency_ms, "worst_drop_points": drop,
            "fp32_nodes": [f"n{i}" for i in range(fp32_nodes)]}


# 1.4.0's two builds of the same graphs: identical drops, latencies measured under different load.
QUIET = {"int8, none": _v("int8", 5.93, 9.17, 1.74), "uint8, none": _v("uint8", 5.93, 4.99, 1.96),
         "int8, first_conv": _v("int8", 5.93, 8.82, 1.74, 1), "uint8, first_conv": _v("uint8", 5.93, 4.78, 1.74, 1),
         "uint8, heads": _v("uint8", 8.73, 6.44, 1.74, 9)}
LOADED = {**QUIET, "int8, none": _v("int8", 5.93, 10.26, 1.74), "uint8, none": _v("uint8", 5.93, 6.00, 1.96),
          "int8, first_conv": _v("int8", 5.93, 13.66, 1.74, 1), "uint8, first_conv": _v("uint8", 5.93, 8.27, 1.74, 1)}


def test_the_choice_does_not_depend_on_measured_latency():
    """The old rule took the fastest: these two builds shipped different graphs."""
    assert pick_variant(QUIET) == pick_variant(LOADED) == "uint8, first_conv"


def test_uint8_with_the_smallest_drop_ships_and_ties_go_to_fewer_fp32_nodes():
    variants = {"uint8, first_conv": _v("uint8", 5.9, 5.0, 0.3, 1), "uint8, none": _v("uint8", 5.9, 5.0, 0.3),
                "uint8, worse": _v("uint8", 5.9, 1.0, 0.9)}
    assert pick_variant(variants) == "uint8, none"
    # 1.5.0's build: the stem in fp32 bought nothing on validation, so the all-INT8 graph ships.
    built = {"int8, none": _v("int8", 5.93, 10.63, 1.52), "uint8, none": _v("uint8", 5.93, 7.96, 1.30),
             "int8, first_conv": _v("int8", 5.93, 11.58, 1.52, 1), "uint8, first_conv": _v("uint8", 5.93, 5.61, 1.30, 1),
             "uint8, heads": _v("uint8", 8.73, 6.69, 1.30, 9)}
    assert pick_variant(built) == "uint8, none"


def test_int8_activations_ship_only_when_clearly_more_accurate():
    # 1.3.0's build: int8 activations 1.6 against 1.8 points (one validation photo), ~3x slower.
    variants = {"int8, none": _v("int8", 5.92, 13.1, 1.6), "uint8, none": _v("uint8", 5.92, 4.6, 2.0),
                "uint8, first_conv": _v("uint8", 5.93, 7.0, 1.8, 1)}
    assert pick_variant(variants) == "uint8, first_conv"
    variants["int8, none"] = _v("int8", 5.92, 13.1, 1.2)  # 0.6 point better than any uint8 variant
    assert pick_variant(variants) == "int8, none"


def test_variants_over_the_size_budget_never_ship():
    assert pick_variant({"big": _v("uint8", 8.7, 1.0, 0.0), "small": _v("int8", 5.9, 9.0, 3.0)}) == "small"
    with pytest.raises(ValueError, match="MiB"):
        pick_variant({"big": _v("uint8", 8.7, 1.0, 0.0)})
