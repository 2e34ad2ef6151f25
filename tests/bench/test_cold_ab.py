"""bench.cold_ab runs a checkout's cold-start child and prints its medians (shape only, not timed)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cold_ab", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_usage_without_trees():
    out = _run("1", "core")
    assert out.returncode == 2 and "python -m bench.cold_ab" in out.stderr


@pytest.mark.slow
def test_this_checkout_against_itself_with_an_override():
    out = _run("1", "core", ".", ".+ORT_DISABLE_TELEMETRY=0")
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [".", ".+ORT_DISABLE_TELEMETRY=0"]
    assert all("'total_ms'" in line and "'cpu_ms'" in line for line in lines)
