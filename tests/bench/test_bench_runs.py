"""`make bench` runs and prints every figure. Not a timed test: it runs the real harness in its
tiny mode (small photos, the fixture model, two rounds) and checks the output's shape only."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SECTIONS = ("## Pipeline, bytes -> verdict", "## Against the floor", "## Per stage", "## JPEG decode alone by DCT scale",
            "## Colour-managed photo", "## Progressive JPEG", "## Cold start", "## Peak RSS", "## Backfill worker", "## Targets")
ROWS = ("jpeg-384", "jpeg-512", "png-320", "core (numpy, Pillow, onnxruntime, screener)",
        "upload handler module", "30 ms per GET", "30 ms per call", "pipeline vs naive", "pipeline / floor",
        "cold start to first verdict", "peak RSS", "backfill, 30 ms GET latency vs none", "runtime layers together")


def _numbers(obj) -> list[float]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return [float(obj)] if isinstance(obj, (int, float)) and not isinstance(obj, bool) else []


@pytest.mark.slow
def test_tiny_bench_prints_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    text = run.stdout
    for heading in SECTIONS + ROWS:
        assert heading in text, f"missing {heading!r} in:\n{text}"
    figs = json.loads(out.read_text())
    assert {"pipeline", "decode_scales", "colour", "progressive", "cold_start", "rss", "worker"} <= set(figs)
    assert figs["progressive"]["progressive_ms"] > 0 and figs["progressive"]["ratio"] > 0
    assert [p["photo"] for p in figs["pipeline"]] == ["jpeg-384", "jpeg-512", "png-320"]
    for p in figs["pipeline"]:
        assert set(p["stages_ms"]) == {"decode", "preprocess", "infer", "policy"}
        assert p["verdict"] in ("approved", "review")
    for path in ("floor", "core", "handler"):
        assert set(figs["cold_start"][path]) >= {"imports_ms", "session_ms", "first_verdict_ms", "total_ms"}
    for path in ("core", "handler"):  # a ratio to the floor, not a timing check
        assert math.isfinite(figs["cold_start"][path]["vs_floor"]) and figs["cold_start"][path]["vs_floor"] > 0
    assert set(figs["rss"]) == {"jpeg-384", "jpeg-512", "png-320"}
    # decode - bare decode is a difference of two medians: noise can make it slightly negative.
    overheads = [p.pop("decode_overhead_ms") for p in figs["pipeline"]]
    assert all(math.isfinite(x) for x in overheads)
    timing = _numbers({k: figs[k] for k in ("pipeline", "decode_scales", "cold_start", "rss", "worker")})
    assert timing and all(math.isfinite(x) and x >= 0 for x in timing)
