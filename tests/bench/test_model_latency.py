"""bench.model_latency runs end to end on the committed model and prints its three figures."""
from __future__ import annotations

import re

import pytest

from bench import model_latency


@pytest.mark.slow
def test_model_latency_prints_both_models_and_their_ratio(capsys) -> None:
    assert model_latency.main(["--rounds", "1", "--photos", "2"]) == 0
    out = capsys.readouterr().out
    figures = {name: float(v) for name, v in re.findall(r"^(shipped INT8 model|plain Lite0 INT8|shipped / plain)\s+([0-9.]+)", out, re.M)}
    assert set(figures) == {"shipped INT8 model", "plain Lite0 INT8", "shipped / plain"}
    assert all(v > 0 for v in figures.values())
