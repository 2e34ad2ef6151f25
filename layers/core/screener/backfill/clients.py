"""Clients for the backfill: the shared S3 client with a longer retry budget, and SQS."""
from __future__ import annotations

from typing import Any, Mapping

from ..deps import s3_client

# S3 answers a hot prefix with 503 SlowDown and occasionally a 500; SQS throttles too. Standard
# retry mode retries both (and connection errors) with jittered exponential backoff; 8 attempts
# ride out several seconds of throttling before a message fails and SQS redelivers it later.
MAX_ATTEMPTS = 8


def backfill_s3_client(env: Mapping[str, str], io_threads: int) -> Any:
    # One pooled connection per I/O thread plus the main thread, or threads queue for sockets.
    return s3_client(env, max_attempts=MAX_ATTEMPTS, max_pool_connections=io_threads + 2)


def sqs_client() -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client("sqs", config=BotoConfig(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
                                                 connect_timeout=5, read_timeout=30))
