"""Read an image's bytes from a local path or an ``s3://bucket/key`` URI.

S3 goes through boto3 with its usual configuration chain, so ``AWS_ENDPOINT_URL`` (a local S3
such as SeaweedFS or moto), profiles and credentials work as they do for the AWS CLI.
"""
from __future__ import annotations

import functools
from pathlib import Path


class SourceError(OSError):
    """The object could not be read: missing file or key, no access, bad URI."""


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise SourceError(f"bad S3 URI {uri!r}: want s3://bucket/key")
    return bucket, key


@functools.lru_cache(maxsize=1)
def _s3_client():
    import boto3  # local-only dependency; imported when an s3:// path is actually used

    return boto3.client("s3")


def resolve(path: str, base: Path) -> str:
    """A CSV path as an absolute local path or an S3 URI (relative paths are relative to the CSV)."""
    if is_s3(path):
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p))


def read_bytes(uri: str) -> bytes:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        try:
            return _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as e:  # botocore's ClientError and connection errors alike
            raise SourceError(f"cannot read {uri}: {e}") from e
    try:
        return Path(uri).read_bytes()
    except FileNotFoundError as e:
        raise SourceError(f"no such file: {uri}") from e
    except OSError as e:
        raise SourceError(f"cannot read {uri}: {e}") from e


def exists(uri: str) -> bool:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        try:
            _s3_client().head_object(Bucket=bucket, Key=key)
            return True
        except Exception:
            return False
    return Path(uri).is_file()
