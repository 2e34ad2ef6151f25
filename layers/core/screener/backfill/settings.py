"""The backfill function's own settings, parsed once from the environment and validated.

Environment variables (defaults in brackets):
    BACKFILL_BUCKETS            comma-separated allow-list of buckets a message may name (required;
                                the template sets it to the screener's bucket only)
    BACKFILL_QUEUE_URL          the queue that work and continuation messages go to (required)
    BACKFILL_DLQ_URL            where invalid messages are sent directly [none: they are reported as
                                failed instead, and the queue's redrive policy moves them]
    BACKFILL_KEYS_PER_MESSAGE   objects per work message [100]
    BACKFILL_PAGE_SIZE          ListObjectsV2 MaxKeys per listing message [1000]
    BACKFILL_PREFETCH           objects fetched ahead of the one being screened [6]
    BACKFILL_IO_THREADS         threads for S3 reads and writes [12]
    BACKFILL_MIN_REMAINING_MS   stop starting new objects when the invocation has less left [10000]
The shared settings (prefixes, limits, policy, model) come from ``screener.config.load_config``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from ..config import ConfigError, Prefixes, env_int
from .messages import MAX_OBJECTS_PER_WORK, Rules
from .report import REPORTS_ROOT


@dataclass(frozen=True)
class BackfillSettings:
    buckets: frozenset[str]
    queue_url: str
    dlq_url: str | None = None
    # 100 keys in one message, not 5 x 20: the worker's pipeline fills and drains once per
    # message, and with every S3 call slow that cost a third of the throughput (README "Backfill").
    keys_per_message: int = 100
    page_size: int = 1000
    prefetch: int = 6  # a fetch is 3 calls (HEAD, tags, GET): 6 in flight hide them at ~50 photos/s
    io_threads: int = 12
    min_remaining_ms: int = 10_000

    def rules(self, prefixes: Prefixes) -> Rules:
        # reports/ is our own output and never screened; move mode works on incoming/ only.
        return Rules(
            buckets=self.buckets,
            reserved_prefixes=(REPORTS_ROOT.split("/")[0] + "/",),
            move_sources=(prefixes.incoming,),
            move_destinations=(prefixes.approved, prefixes.review),
        )


def load_settings(env: Mapping[str, str] | None = None) -> BackfillSettings:
    """Parse and validate; raises ConfigError naming every problem at once."""
    env = os.environ if env is None else env
    errors: list[str] = []
    buckets = frozenset(b.strip() for b in env.get("BACKFILL_BUCKETS", "").split(",") if b.strip())
    if not buckets:
        errors.append("BACKFILL_BUCKETS must name at least one bucket (the allow-list is never open)")
    queue_url = env.get("BACKFILL_QUEUE_URL", "").strip()
    if not queue_url:
        errors.append("BACKFILL_QUEUE_URL must be set: work and continuations are sent there")
    d = BackfillSettings  # the defaults live on the dataclass, once
    s = BackfillSettings(
        buckets=buckets,
        queue_url=queue_url,
        dlq_url=env.get("BACKFILL_DLQ_URL", "").strip() or None,
        keys_per_message=env_int(env, "BACKFILL_KEYS_PER_MESSAGE", d.keys_per_message, 1, MAX_OBJECTS_PER_WORK, errors),
        page_size=env_int(env, "BACKFILL_PAGE_SIZE", d.page_size, 1, 1000, errors),
        prefetch=env_int(env, "BACKFILL_PREFETCH", d.prefetch, 1, 32, errors),
        io_threads=env_int(env, "BACKFILL_IO_THREADS", d.io_threads, 2, 64, errors),
        min_remaining_ms=env_int(env, "BACKFILL_MIN_REMAINING_MS", d.min_remaining_ms, 0, 900_000, errors),
    )
    if s.io_threads <= s.prefetch:
        errors.append(f"BACKFILL_IO_THREADS ({s.io_threads}) must exceed BACKFILL_PREFETCH ({s.prefetch}): writes need threads too")
    if errors:
        raise ConfigError("invalid backfill configuration:\n  - " + "\n  - ".join(errors))
    return s
