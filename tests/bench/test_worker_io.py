"""bench.worker_io's message-size table runs through the real worker and reports every case.
Not a timed test: tiny photos, the fixture model, one round, 1 ms of latency; shapes only."""
from __future__ import annotations

import numpy as np

from bench import worker_io
from tests.fixtures import images


def test_message_sizes_reports_each_case_against_no_latency(classifier, config):
    photos = [images.good_jpeg(), images.dark_jpeg()]
    rows = worker_io.message_sizes(photos, classifier, config, rounds=1, per_invocation=4, keys_per_message=(2, 4),
                                   prefetch_io=((1, 2), (2, 4)), latency_s=0.001)
    assert [(r["messages"], r["prefetch"], r["io_threads"]) for r in rows] == \
        [("2 x 2", 1, 2), ("1 x 4", 1, 2), ("2 x 2", 2, 4), ("1 x 4", 2, 4)]
    for r in rows:
        assert all(np.isfinite(r[k]) and r[k] > 0 for k in ("none_per_s", "get_per_s", "all_per_s", "get_ratio", "all_ratio"))
