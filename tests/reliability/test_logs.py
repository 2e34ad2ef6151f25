"""No object bytes and no credentials in the logs; keys and verdicts are there.

Every input of the bad-input matrix plus photos and documents that carry a marker where parsers
look (JPEG comment and EXIF, PNG text chunk, PPM header, HTML/SVG/text bodies), run through the
real handler with its logger at DEBUG and every other logger at INFO, the way a deployment with
LogLevel=DEBUG would log. Everything written to stdout/stderr and every log record is searched
for the marker (raw, base64, hex), the secret access key and the session token.
"""
from __future__ import annotations

import base64
import io
import logging

import boto3
from PIL import Image, PngImagePlugin

from tests.fixtures import images
from tests.reliability import matrix
from tests.reliability.conftest import Lambda

MARKER = "PHOTO-BYTES-MARKER-7f3a9c"
SECRET = "wJalrXUtnFEMI-test-secret-never-logged"
TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-never-logged"


def marked_inputs() -> dict[str, tuple[bytes, str]]:
    """key -> (bytes carrying the marker, content type)."""
    m = MARKER.encode()
    exif = Image.Exif()
    exif[0x010E] = MARKER  # ImageDescription
    jpeg = images.encode(images.product(), "JPEG", quality=90, comment=m, exif=exif.tobytes())
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", MARKER)
    png = images.encode(images.product(), "PNG", pnginfo=info)
    return {
        "incoming/marked/photo.jpg": (jpeg, "image/jpeg"),
        "incoming/marked/photo.png": (png, "image/png"),
        "incoming/marked/truncated.jpg": (jpeg[: len(jpeg) // 2], "image/jpeg"),
        "incoming/marked/notes.jpg": (b"order notes " + m + b"\n", "image/jpeg"),
        "incoming/marked/page.jpg": (b"<html><body>" + m + b"</body></html>", "text/html"),
        "incoming/marked/vector.jpg": (b'<svg xmlns="http://www.w3.org/2000/svg"><text>' + m + b"</text></svg>",
                                       "image/svg+xml"),
        "incoming/marked/raw.ppm": (b"P6\n" + m + b" 12\n255\n", "image/x-portable-pixmap"),
        "incoming/marked/header.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + m, "image/png"),
    }


def forbidden() -> dict[str, str]:
    m = MARKER.encode()
    # Any 8 bytes of it: parsers quote short header fragments in their errors.
    return {"marker": MARKER[:8], "marker (base64)": base64.b64encode(m).decode()[:12],
            "marker (hex)": m.hex()[:16],
            "secret access key": SECRET, "session token": TOKEN}


def test_logs_carry_keys_and_verdicts_but_no_bytes_and_no_credentials(moto_store, handler_env, capfd, caplog,
                                                                     monkeypatch):
    handler_env.setenv("MAX_IMAGE_BYTES", str(matrix.MAX_BYTES))
    handler_env.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    handler_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    handler_env.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # the handler's client signs with these credentials
    caplog.set_level(logging.INFO)

    keys = []
    for case in matrix.CASES:
        moto_store.put(case.key, case.data(), **({"ContentType": case.content_type} if case.content_type else {}))
        keys.append(case.key)
    for key, (data, ctype) in marked_inputs().items():
        moto_store.put(key, data, ContentType=ctype)
        keys.append(key)
    fn = Lambda()
    out = fn(moto_store.event(*keys))["records"]
    assert len(out) == len(keys) and {r["outcome"] for r in out} == {"moved"}
    credentials = fn.app.dependencies().objects.client._request_signer._credentials
    assert credentials.secret_key == SECRET and credentials.token == TOKEN  # really in use

    # A failing record too: its exception is logged with a traceback.
    failing = Lambda(wrap=lambda c: moto_store.wrap(c, copy_object=_fail))
    moto_store.put("incoming/marked/again.jpg", marked_inputs()["incoming/marked/photo.jpg"][0])
    try:
        failing(moto_store.event("incoming/marked/again.jpg"))
    except failing.app.RetryLater:
        pass

    # What CloudWatch would get: every record as the handler's own formatter writes it (the JSON
    # lines, exceptions included), plus whatever reached stdout/stderr directly (EMF metrics).
    service = fn.app.logger.registered_formatter
    lines = [(service if r.name == "upload-screener" else logging.Formatter()).format(r) for r in caplog.records]
    captured = capfd.readouterr()
    text = "\n".join(lines) + captured.out + captured.err
    assert '"key":"incoming/marked/notes.jpg"' in text and '"verdict":"review"' in text  # keys and verdicts: yes
    assert '"message":"record failed; object left in incoming/ for the retry"' in text
    for what, value in forbidden().items():
        assert value not in text, f"the logs contain the {what}"


def _fail(kwargs):
    from tests.fixtures.s3 import client_error

    raise client_error("InternalError", 500, "CopyObject")
