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


def test_pixel_cap_counts_what_the_decoder_allocates():
    """4 MP cap; decoded to a short side >= 640. A JPEG is DCT-scaled, a PNG decodes whole."""
    camera = hdr("JPEG", 9504, 6336)  # 60 MP: 1/8 -> 1188 x 792
    assert camera.decoded_pixels(640) == 1188 * 792
    assert check_header(camera, LIMITS, 640).reasons == ()
    assert check_header(camera, LIMITS).reasons == (Reason.DECOMPRESSION_BOMB,)  # no scaling asked for
    assert check_header(hdr("PNG", 9504, 6336), LIMITS, 640).reasons == (Reason.DECOMPRESSION_BOMB,)
    progressive = ImageHeader("JPEG", 9504, 6336, "RGB", 1, None, progressive=True)  # buffers every coefficient
    assert check_header(progressive, LIMITS, 640).reasons == (Reason.DECOMPRESSION_BOMB,)
    # A short side under 4 x 640 scales less: 1/2 leaves this panorama 4000 x 1200 = 4.8 MP.
    assert hdr("JPEG", 8000, 2400).decoded_pixels(640) == 4000 * 1200
    assert check_header(hdr("JPEG", 8000, 2400), LIMITS, 640).reasons == (Reason.DECOMPRESSION_BOMB,)


@pytest.mark.parametrize("size", [(9504, 6336), (8000, 2400), (2560, 1280), (1281, 700), (641, 9000), (300, 200)])
def test_decoded_pixels_is_what_pillows_draft_gives(size):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", size, 200).save(buf, "JPEG")
    im = Image.open(buf)
    im.draft("RGB", (640, 640))
    assert hdr("JPEG", *size).decoded_pixels(640) == im.size[0] * im.size[1]


@pytest.mark.parametrize("declared, fmt, ok", [
    (None, "JPEG", True), ("binary/octet-stream", "PNG", True), ("image/jpeg", "JPEG", True),
    ("image/jpg", "JPEG", True), ("IMAGE/PNG; charset=x", "PNG", True), ("image/png", "JPEG", False),
    ("text/html", "JPEG", False), ("image/heic", "JPEG", False),
])
def test_content_type(declared, fmt, ok):
    assert (check_content_type(declared, hdr(fmt)) is None) is ok
