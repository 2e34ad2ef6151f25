"""S3's limit on object keys, shared by the mover and the backfill's message checks (no imports:
the message parser stays light)."""
from __future__ import annotations

MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8 bytes


def key_fits(key: str) -> bool:
    """Whether S3 can hold an object under ``key``."""
    return 0 < len(key.encode("utf-8")) <= MAX_KEY_BYTES
