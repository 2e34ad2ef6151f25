"""Bad and awkward inputs through the real pipeline (tiny real ONNX model, no mocks)."""
import io

import numpy as np
import pytest
from PIL import Image

from screener.decode import decode_rgb, read_header
from screener.policy import Verdict
from screener.reasons import Reason
from screener.screening import screen_bytes
from tests.fixtures import images


def screen(data, classifier, config, content_type=None):
    r = screen_bytes(data, classifier, config, content_type)
    assert r.model_id == "tiny-test@1.0"
    assert (r.verdict is Verdict.APPROVED) == (r.reasons == ())
    return r


def test_good_photo_is_approved_with_scores_and_timings(classifier, config):
    r = screen(images.good_jpeg(), classifier, config, "image/jpeg")
    assert r.verdict is Verdict.APPROVED
    assert r.top_labels()["background"][0] == "white"
    assert set(r.timings_ms) >= {"header", "decode", "prepare", "predict", "total"}


def test_dark_background_goes_to_review(classifier, config):
    r = screen(images.dark_jpeg(), classifier, config)
    assert r.reasons == (Reason.BACKGROUND,)


def test_featureless_frame_is_poor_quality(classifier, config):
    assert screen(images.flat_jpeg(), classifier, config).reasons == (Reason.QUALITY,)


@pytest.mark.parametrize("data, reason", [
    (b"", Reason.EMPTY),
    (b"just some text, named photo.jpg\n" * 20, Reason.NOT_AN_IMAGE),
    (b"<html><body><img src=x></body></html>", Reason.NOT_AN_IMAGE),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="900"></svg>', Reason.NOT_AN_IMAGE),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, Reason.UNSUPPORTED_FORMAT),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 64, Reason.UNSUPPORTED_FORMAT),
])
def test_unscreenable_bytes_get_a_named_reason(data, reason, classifier, config):
    r = screen(data, classifier, config)
    assert r.verdict is Verdict.REVIEW and r.reasons == (reason,) and r.scores is None


def test_truncated_jpeg(classifier, config):
    data = images.good_jpeg()
    r = screen(data[: len(data) // 3], classifier, config)
    assert r.reasons == (Reason.TRUNCATED,)


def test_decompression_bomb_refused_before_decoding(classifier, config, monkeypatch):
    data = images.bomb_png(10_000)  # 100 MP: over our 60 MP cap, under Pillow's own limit
    assert len(data) < 5_000
    called = []
    monkeypatch.setattr("screener.screening.decode_rgb", lambda *a, **k: called.append(1))
    r = screen(data, classifier, config)
    assert r.reasons == (Reason.DECOMPRESSION_BOMB,) and not called


def test_huge_bomb_caught_by_pillow_header_check(classifier, config):
    data = images.bomb_png(40_000)  # 1.6 G pixels in a few KB
    assert len(data) < 5_000
    assert screen(data, classifier, config).reasons == (Reason.DECOMPRESSION_BOMB,)


def test_a_camera_jpeg_over_the_pixel_cap_is_decoded_small_and_scored(classifier, config):
    """61 MP straight from a high-resolution camera: DCT-scaled by 8, it decodes to under 1 MP,
    so the cap on decoded pixels lets it through where a 61 MP PNG would be refused."""
    im = Image.new("L", (9504, 6432), 255)
    im.paste(90, (3000, 2000, 6500, 4400))
    data = images.encode(im, "JPEG", quality=80)
    _, header = read_header(data)
    assert header.pixels > config.limits.max_pixels
    r = screen(data, classifier, config, "image/jpeg")
    assert Reason.DECOMPRESSION_BOMB not in r.reasons and r.scores is not None
    # Progressive, the same photo would need all its DCT coefficients in memory at once: refused.
    progressive = images.encode(im, "JPEG", quality=80, progressive=True)
    assert read_header(progressive)[1].progressive
    assert screen(progressive, classifier, config).reasons == (Reason.DECOMPRESSION_BOMB,)


def test_low_resolution_is_still_scored(classifier, config):
    r = screen(images.good_jpeg(size=(300, 300)), classifier, config)
    assert r.reasons == (Reason.LOW_RESOLUTION,) and r.scores is not None


def test_content_type_mismatch(classifier, config):
    r = screen(images.encode(images.product(), "PNG"), classifier, config, "image/jpeg")
    assert Reason.CONTENT_TYPE_MISMATCH in r.reasons


def test_unsupported_format_not_decoded(classifier, config):
    r = screen(images.encode(images.product(), "BMP"), classifier, config)
    assert r.reasons == (Reason.UNSUPPORTED_FORMAT,) and r.scores is None


def test_animated_gif_first_frame_flagged(classifier, config):
    frames = [images.product(size=(520, 520), seed=i).quantize(32) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    r = screen(buf.getvalue(), classifier, config, "image/gif")
    assert Reason.MULTI_FRAME in r.reasons and r.scores is not None


def test_multipage_tiff(classifier, config):
    buf = io.BytesIO()
    images.product().save(buf, "TIFF", save_all=True, append_images=[images.product(seed=1)])
    assert Reason.MULTI_FRAME in screen(buf.getvalue(), classifier, config).reasons


@pytest.mark.parametrize("make", [
    lambda: images.product().convert("CMYK"),
    lambda: images.product().convert("L"),
])
def test_cmyk_and_grayscale_are_scored(make, classifier, config):
    im = make()
    r = screen(images.encode(im, "JPEG", quality=90), classifier, config)
    assert r.scores is not None and r.verdict is Verdict.APPROVED


def test_16bit_png_is_scaled_not_clipped(classifier, config):
    arr = np.asarray(images.product().convert("L"), dtype=np.uint16) * 257
    data = images.encode(Image.fromarray(arr.astype("<u2")), "PNG")
    assert read_header(data)[1].mode.startswith("I")
    im, header = read_header(data)
    rgb = decode_rgb(im, 256)
    assert rgb.mode == "RGB" and np.asarray(rgb).max() > 200  # clipping would make it all white
    assert np.asarray(rgb).min() < 100
    assert screen(data, classifier, config).scores is not None


def _corner(data):
    im, _ = read_header(data)
    return np.asarray(decode_rgb(im, 64))[2, 2]


def test_rgba_cutout_is_composited_on_white_not_black(classifier, config):
    im = images.product().convert("RGBA")
    a = np.asarray(im).copy()
    a[..., 3] = 0  # fully transparent everywhere ...
    a[300:500, 300:500, 3] = 255  # ... except the product
    data = images.encode(Image.fromarray(a, "RGBA"), "PNG")
    assert list(_corner(data)) == [255, 255, 255]
    assert screen(data, classifier, config).top_labels()["background"][0] == "white"


def test_palette_transparency_is_white():
    im = Image.new("P", (600, 600), 0)
    im.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    im.paste(1, (200, 200, 400, 400))
    data = images.encode(im, "PNG", transparency=0)
    assert list(_corner(data)) == [255, 255, 255]


def test_exif_rotation_is_applied():
    im = Image.new("RGB", (800, 600), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    data = images.encode(im, "JPEG", exif=exif.tobytes())
    raw, header = read_header(data)
    assert (header.width, header.height) == (800, 600)
    assert decode_rgb(raw, 600).size == (600, 800)  # upright: portrait


def test_multi_picture_jpeg_is_screened_as_its_primary_image(classifier, config):
    """Camera previews and HDR gain maps ride in a Multi-Picture extension, and Pillow names the
    file MPO: it is still one JPEG photo, decoded at reduced scale, scored as the plain JPEG."""
    photo = images.product()
    plain, mpo = images.encode(photo, "JPEG", quality=90), images.multi_picture_jpeg(photo)
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    im, header = read_header(mpo)
    assert (header.format, header.frames) == ("JPEG", 1)
    rgb = decode_rgb(im, 200)
    assert rgb.size == (200, 200)  # DCT-scaled to 1/4, as a JPEG is
    assert np.array_equal(np.asarray(rgb), np.asarray(decode_rgb(read_header(plain)[0], 200)))
    r = screen(mpo, classifier, config, "image/jpeg")
    assert r.verdict is Verdict.APPROVED
    assert r.scores == screen(plain, classifier, config, "image/jpeg").scores


def test_multi_picture_jpeg_cut_inside_its_hidden_image_still_screens(classifier, config):
    mpo = images.multi_picture_jpeg(images.product())
    assert screen(mpo[:-200], classifier, config, "image/jpeg").verdict is Verdict.APPROVED


def test_multi_picture_jpeg_keeps_its_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6
    im, _ = read_header(images.multi_picture_jpeg(images.product((800, 600)), exif=exif.tobytes()))
    assert decode_rgb(im, 600).size == (600, 800)


def test_model_failure_becomes_review(classifier, config, monkeypatch):
    def boom(x):
        raise RuntimeError("onnx exploded")
    monkeypatch.setattr(classifier, "predict", boom)
    r = screen(images.good_jpeg(), classifier, config)
    assert r.reasons == (Reason.MODEL_ERROR,) and "onnx exploded" in r.detail
