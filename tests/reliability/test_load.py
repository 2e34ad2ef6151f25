"""Load, scaled for CI: the same harness as ``python -m bench.load_uploads`` (1,000 uploads, 16
concurrent invocations: the figures in RELIABILITY.md), on fewer objects with the tiny model.
Every object processed, none lost, duplicated or changed; no invocation fails."""
from __future__ import annotations

import pytest

from bench.load_uploads import run


@pytest.mark.slow
def test_many_concurrent_invocations_lose_and_duplicate_nothing(tmp_path):
    f = run(objects=160, workers=16, tiny=True, log=tmp_path / "handler.log")
    assert f.problems == () and f.failed_invocations == 0
    assert f.approved + f.review == 160 and f.review >= 16  # one in ten is a bad input
    assert f.objects_per_s > 0 and f.p50_ms <= f.p95_ms <= f.max_ms
