"""Inject S3 error responses into a real botocore client, ahead of moto, so botocore's own retry
logic (the client's retry config) is what gets exercised.

botocore emits ``before-send`` to every handler and uses the first response; moto's stubber is one
of those handlers. A faulted request's URL is therefore pointed at an address moto does not serve,
so moto leaves it alone: the request fails without having happened, as a real 4xx/5xx would.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from urllib.parse import unquote, urlparse

from botocore.awsrequest import AWSResponse

ERRORS = {
    503: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    403: ("AccessDenied", "Access Denied"),
}


def _refuse(request, status: int, body: bytes) -> AWSResponse:
    url = request.url
    request.url = "https://fault-injected.invalid/"  # moto's stubber ignores unknown hosts
    return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


class S3Faults:
    """Fail the next ``times`` calls of ``operation`` (on keys ending in ``key``) with ``status``."""

    def __init__(self, client):
        self._rules: list[dict] = []
        self.fired: dict[tuple[str, int], int] = defaultdict(int)
        self._lock = threading.Lock()
        client.meta.events.register_first("before-send", self._before_send)  # same node as moto's stubber, ahead of it

    def fail(self, operation: str, status: int, times: int = 1, key: str | None = None) -> "S3Faults":
        self._rules.append({"op": operation, "status": status, "left": times, "key": key})
        return self

    def _before_send(self, request, event_name: str, **_):
        if ".s3." not in event_name:
            return None
        op = event_name.rsplit(".", 1)[-1]
        path = unquote(urlparse(request.url).path)
        with self._lock:
            for r in self._rules:
                if r["op"] == op and r["left"] > 0 and (r["key"] is None or path.endswith("/" + r["key"])):
                    r["left"] -= 1
                    self.fired[(op, r["status"])] += 1
                    code, msg = ERRORS[r["status"]]
                    body = b"" if op == "HeadObject" else (
                        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                        f"<Message>{msg}</Message><RequestId>FAULT</RequestId></Error>").encode()
                    return _refuse(request, r["status"], body)
        return None


class CopySourceIfMatch:
    """moto 5.2 ignores CopyObject's ``x-amz-copy-source-if-match``; S3 answers 412 when the source's
    current ETag differs. This hook applies S3's rule, reading the source with an unhooked client."""

    def __init__(self, client, reader):
        self.reader = reader
        self.refused = 0
        client.meta.events.register_first("before-send", self._before_send)  # ahead of moto's stubber

    def _before_send(self, request, event_name: str, **_):
        if not event_name.endswith(".s3.CopyObject"):
            return None
        want = request.headers.get("x-amz-copy-source-if-match")
        if not want:
            return None
        src = unquote(request.headers["x-amz-copy-source"]).lstrip("/")
        bucket, key = src.split("/", 1)
        key = key.split("?versionId=")[0]
        try:
            etag = self.reader.head_object(Bucket=bucket, Key=key)["ETag"]
        except Exception:  # noqa: BLE001 - a missing source is S3's 404, which moto returns itself
            return None
        if etag.strip('"') == (want.decode() if isinstance(want, bytes) else want).strip('"'):
            return None
        self.refused += 1
        body = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>PreconditionFailed</Code>"
                b"<Message>At least one of the pre-conditions you specified did not hold</Message></Error>")
        return _refuse(request, 412, body)
