"""The botocore configuration the backfill's clients use: what makes throttling survivable."""
from __future__ import annotations

from botocore.config import Config as BotoConfig

# S3 answers a hot prefix with 503 SlowDown and occasionally a 500; SQS throttles too. The
# "standard" retry mode retries both (and connection errors) with jittered exponential backoff;
# 8 attempts ride out ~10 s of throttling before a message fails and SQS redelivers it later.
MAX_ATTEMPTS = 8


def boto_config(io_threads: int = 8, max_attempts: int = MAX_ATTEMPTS) -> BotoConfig:
    return BotoConfig(
        retries={"mode": "standard", "max_attempts": max_attempts},
        # One connection per I/O thread plus the main thread, or threads queue for sockets.
        max_pool_connections=io_threads + 2,
        connect_timeout=5,
        read_timeout=30,
    )
