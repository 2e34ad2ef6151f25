"""The real upload handler against a chosen S3: moto in-process, or SeaweedFS (a real server).

``store`` is parametrised over both; ``moto_store`` is moto only, for the fast tests. A ``Lambda``
is one container: a fresh import of functions/upload/app.py whose dependencies come from the
environment exactly as on Lambda, optionally with its S3 client wrapped (faults, spies).
"""
from __future__ import annotations

import hashlib
import importlib.util
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from screener.deps import Dependencies
from screener.s3_objects import S3Objects
from screener_cli.s3_events import object_created, s3_event
from tests.fixtures.s3 import Intercepted, enforce_copy_source_if_match
from tests.fixtures.seaweedfs import CREDENTIALS, seaweedfs  # noqa: F401 - the session fixture
from tests.upload.conftest import ROOT, Ctx

HANDLER = ROOT / "functions" / "upload" / "app.py"
_modules = itertools.count()


def load_handler() -> Any:
    """A fresh import of the handler module: a new container, nothing cached."""
    spec = importlib.util.spec_from_file_location(f"upload_app_{next(_modules)}", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Lambda:
    """One container of the real handler. ``wrap`` wraps the S3 client its dependencies built."""

    def __init__(self, wrap: Callable[[Any], Any] | None = None):
        self.app = load_handler()
        self.wrapped: Any = None
        if wrap is not None:
            real = self.app.dependencies()  # config, client and model exactly as on Lambda
            self.wrapped = wrap(real.objects.client)
            deps = Dependencies(real.config, S3Objects(self.wrapped), real.classifier)
            self.app.dependencies = lambda: deps

    def __call__(self, event: dict) -> dict:
        return self.app.lambda_handler(event, Ctx())


@dataclass
class Store:
    """A bucket on one S3 implementation, and what tests need to set up and inspect it."""

    kind: str  # "moto" | "seaweedfs"
    client: Any
    bucket: str
    # moto accepts CopySourceIfMatch and ignores it; the stub applies S3's rule in front of it.
    enforces_copy_if_match: bool
    _seq: itertools.count = field(default_factory=itertools.count)

    def put(self, key: str, body: bytes, **kw: Any) -> str:
        return self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **kw)["ETag"]

    def event(self, *keys: str) -> dict:
        """The S3 notification for the current version of each key, encoded as S3 encodes it."""
        records = []
        for key in keys:
            h = self.client.head_object(Bucket=self.bucket, Key=key)
            records.append(object_created(self.bucket, key, h["ContentLength"], h["ETag"],
                                          h.get("VersionId"), seq=next(self._seq)))
        return s3_event(*records)

    def keys(self, prefix: str = "") -> list[str]:
        out, token = [], None
        while True:
            kw = {"Bucket": self.bucket, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
            r = self.client.list_objects_v2(**kw)
            out += [o["Key"] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return sorted(out)
            token = r["NextContinuationToken"]

    def body(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def tags(self, key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.client.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]}

    def wrap(self, client: Any, **before: Callable[[dict], None]) -> Intercepted:
        """The handler's client with ``before`` hooks; on moto, also S3's CopySourceIfMatch rule
        and S3's atomic requests (see _Atomic)."""
        if self.kind == "moto":
            client = _Atomic(client)
        if not self.enforces_copy_if_match:
            enforce = enforce_copy_source_if_match(_Atomic(self.client))
            extra = before.pop("copy_object", None)
            before["copy_object"] = enforce if extra is None else _chain(extra, enforce)
        return Intercepted(client, **before)


class _Atomic:
    """moto in-process is not safe under concurrent requests on one key (a CopyObject reads a
    value another thread's CopyObject is replacing, and fails). Each S3 request is atomic, so on
    moto every request takes one lock: calls from threads still interleave, request by request."""

    _lock = threading.RLock()

    def __init__(self, client: Any):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return target(*args, **kwargs)
        return call


def _chain(*hooks: Callable[[dict], None]) -> Callable[[dict], None]:
    def run(kwargs: dict) -> None:
        for hook in hooks:
            hook(kwargs)
    return run


def md5(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


@pytest.fixture()
def handler_env(monkeypatch, tiny_model_dir):
    """The environment a deployed function gets, pointed at the tiny real model; tests may add."""
    env = {"MODEL_DIR": str(tiny_model_dir), "POWERTOOLS_TRACE_DISABLED": "true",
           "POWERTOOLS_METRICS_NAMESPACE": "ScreenerReliability", "POWERTOOLS_SERVICE_NAME": "upload-screener"}
    for k in ("APPROVAL_POLICY", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "ALLOWED_FORMATS",
              "INCOMING_PREFIX", "APPROVED_PREFIX", "REVIEW_PREFIX", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return monkeypatch


def _moto(monkeypatch) -> Any:
    import boto3
    from moto import mock_aws

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # Keep boto3's default session across tests: a fresh one costs ~0.3 s per client on first use,
    # and every container here builds its own client. Credentials come from the env regardless.
    mock = mock_aws(config={"core": {"reset_boto3_session": False}})
    mock.start()
    client = boto3.client("s3", region_name="us-east-1")
    return mock, client


@pytest.fixture()
def moto_store(handler_env):
    mock, client = _moto(handler_env)
    client.create_bucket(Bucket="photos-reliability")
    try:
        yield Store("moto", client, "photos-reliability", enforces_copy_if_match=False)
    finally:
        mock.stop()


@pytest.fixture(params=["moto", pytest.param("seaweedfs", marks=pytest.mark.seaweedfs)])
def store(request, handler_env):
    """The same bucket API on moto and on SeaweedFS; the handler reaches it through the env."""
    if request.param == "moto":
        yield request.getfixturevalue("moto_store")
        return
    server = request.getfixturevalue("seaweedfs")
    for k, v in CREDENTIALS.items():
        handler_env.setenv(k, v)
    # The handler's client comes from boto3's default session: a fresh one reads these
    # credentials (SeaweedFS refuses others) instead of those a moto test left cached.
    import boto3
    handler_env.setattr(boto3, "DEFAULT_SESSION", None)
    handler_env.setenv("AWS_ENDPOINT_URL", server.endpoint)  # as `screener invoke` would point it
    bucket = f"rel-{uuid.uuid4().hex[:12]}"  # one bucket per test on the shared server
    server.create_bucket(bucket)
    yield Store("seaweedfs", server.client(), bucket, enforces_copy_if_match=True)
    server.delete_bucket(bucket)
