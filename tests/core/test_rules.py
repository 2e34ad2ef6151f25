import pytest

from screener.config import RuleLimits
from screener.decode import ImageHeader
from screener.reasons import Reason
from screener.rules import check_content_type, check_header, check_size

LIMITS = RuleLimits(max_bytes=1000, max_pixels=4_000_000, allowed_formats=frozenset({"JPEG", "PNG"}), min_side_px=500)


def hdr(fmt="JPEG", w=1000, h=800, frames=1):
    return ImageHeader(fmt, w, h, "RGB", frames, None)


def test_size():
    assert check_size(0, LIMITS) is Reason.EMPTY
    assert check_size(1000, LIMITS) is None
    assert check_size(1001, LIMITS) is Reason.TOO_LARGE_BYTES


def test_header_ok():
    r = check_header(hdr(), LIMITS)
    assert r.reasons == () and r.may_decode


@pytest.mark.parametrize("header, reasons, may_decode", [
    (hdr("GIF"), {Reason.UNSUPPORTED_FORMAT}, False),
    (hdr(w=40_000, h=40_000), {Reason.DECOMPRESSION_BOMB}, False),
    (hdr(w=499), {Reason.LOW_RESOLUTION}, True),
    (hdr(frames=3), {Reason.MULTI_FRAME}, True),
    (hdr("GIF", 100, 100, 5), {Reason.UNSUPPORTED_FORMAT, Reason.LOW_RESOLUTION, Reason.MULTI_FRAME}, False),
])
def test_header_failures(header, reasons, may_decode):
    r = check_header(header, LIMITS)
    assert set(r.reasons) == reasons and r.may_decode is may_decode


@pytest.mark.parametrize("declared, fmt, ok", [
    (None, "JPEG", True), ("binary/octet-stream", "PNG", True), ("image/jpeg", "JPEG", True),
    ("image/jpg", "JPEG", True), ("IMAGE/PNG; charset=x", "PNG", True), ("image/png", "JPEG", False),
    ("text/html", "JPEG", False), ("image/heic", "JPEG", False),
])
def test_content_type(declared, fmt, ok):
    assert (check_content_type(declared, hdr(fmt)) is None) is ok
