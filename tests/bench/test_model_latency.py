"""bench.model_latency runs end to end on the committed model and prints its figures."""
from __future__ import annotations

import re

import pytest

from bench import model_latency


@pytest.mark.slow
def test_model_latency_prints_both_models_both_stems_and_the_ratios(capsys) -> None:
    assert model_latency.main(["--rounds", "1", "--photos", "2"]) == 0
    out = capsys.readouterr().out
    figures = dict(re.findall(r"^(\S.*?)\s+([0-9.]+)(?: ms/photo|x)$", out, re.M))
    assert set(figures) == {*model_latency.LABELS.values(), "shipped / plain, stems alike", "shipped / plain, as trained",
                            "rewritten stem / as trained, shipped", "rewritten stem / as trained, plain"}
    assert all(float(v) > 0 for v in figures.values())
