"""Embedded colour profiles: wide-gamut photos are seen in sRGB, everything else is left alone."""
import numpy as np
import pytest
from PIL import Image

from screener.colour import srgb_transform, to_srgb
from screener.decode import decode_rgb, read_header
from screener.preprocess import prepare
from screener.screening import screen_bytes
from tests.fixtures import icc, images


def swatches(size: int = 768) -> Image.Image:
    """Flat saturated and neutral patches on a white studio backdrop (sRGB). Flat, because a
    profile applied after the resize to model size is exact on flat colour only: on noise it
    differs by the curve's non-linearity, which would hide what is being measured."""
    im = Image.new("RGB", (size, size), (255, 255, 255))
    colours = [(200, 30, 30), (30, 160, 60), (40, 60, 190), (230, 200, 40), (128, 128, 128), (30, 30, 30)]
    step = size // len(colours)
    for i, c in enumerate(colours):
        im.paste(c, (i * step, size // 2 - 40, (i + 1) * step, size // 2 + 40))
    return im


def model_inputs(data: bytes, spec):
    im, header = read_header(data)
    return prepare(decode_rgb(im, spec.analysis_size), header, spec)


@pytest.mark.parametrize("profile", [icc.ADOBE_RGB, icc.DISPLAY_P3], ids=["adobe-rgb", "display-p3"])
def test_wide_gamut_photo_is_seen_as_its_srgb_original(profile, classifier):
    spec = classifier.manifest.input
    original = swatches()
    encoded = icc.encode_in(original, profile)
    assert np.abs(np.asarray(encoded, np.int16) - np.asarray(original, np.int16)).max() > 20  # really another encoding
    truth = model_inputs(images.encode(original, "PNG"), spec)
    managed = model_inputs(images.encode(encoded, "PNG", icc_profile=profile), spec)
    ignored = model_inputs(images.encode(encoded, "PNG"), spec)  # the same numbers, no profile: read as sRGB
    levels = np.asarray(spec.std, np.float32)[None, :, None, None] * 255.0

    def error(x):  # per pixel and channel, in 8-bit levels
        return np.abs(x.pixels - truth.pixels) * levels

    # The profile is applied after the resize to model size, which differs from converting first
    # only where colours meet (the curves are not linear): a few levels at the bars' edges.
    assert np.percentile(error(managed), 99) <= 8.0 < 40.0 < error(ignored).max()
    assert error(managed).mean() < error(ignored).mean() / 4
    # The frame statistics read the managed model-size image: the backdrop's colour and the shadows.
    names = spec.quality_features.names
    for name in ("ring_chroma", "luma_p02"):
        i = names.index(name)
        assert abs(managed.quality[0, i] - truth.quality[0, i]) < abs(ignored.quality[0, i] - truth.quality[0, i]) / 4


def test_profile_travels_through_jpeg_and_is_applied(classifier, config):
    original = swatches()
    data = images.encode(icc.encode_in(original, icc.ADOBE_RGB), "JPEG", quality=92, icc_profile=icc.ADOBE_RGB)
    _, header = read_header(data)
    assert header.icc_profile == icc.ADOBE_RGB
    t = srgb_transform(header.icc_profile, header.mode)
    assert t is not None and t.source == "Adobe RGB (1998) test"
    r = screen_bytes(data, classifier, config, "image/jpeg")
    assert r.scores is not None


@pytest.mark.parametrize("profile", [icc.srgb_profile(), b"not an ICC profile", b""], ids=["srgb", "garbage", "empty"])
def test_srgb_or_unusable_profiles_leave_pixels_bit_identical(profile, classifier):
    spec = classifier.manifest.input
    im = swatches()
    plain = model_inputs(images.encode(im, "PNG"), spec)
    tagged = model_inputs(images.encode(im, "PNG", icc_profile=profile), spec)
    assert srgb_transform(profile, "RGB") is None
    np.testing.assert_array_equal(tagged.pixels, plain.pixels)
    np.testing.assert_array_equal(tagged.quality, plain.quality)


def test_an_oversized_profile_is_not_parsed():
    from screener.colour import MAX_PROFILE_BYTES

    padded = icc.ADOBE_RGB + b"\0" * MAX_PROFILE_BYTES  # valid, but larger than any display profile
    assert srgb_transform(padded, "RGB") is None
    assert srgb_transform(icc.ADOBE_RGB, "RGB") is not None


def test_rgb_profile_is_not_applied_to_grey_or_cmyk_pixels():
    assert srgb_transform(icc.ADOBE_RGB, "L") is None
    assert srgb_transform(icc.ADOBE_RGB, "CMYK") is None
    assert srgb_transform(icc.ADOBE_RGB, "P") is not None  # a palette holds RGB colours


def test_conversion_returns_a_new_image_and_keeps_the_callers():
    im = swatches(64)
    before = np.asarray(im).copy()
    out = to_srgb(im, srgb_transform(icc.ADOBE_RGB, "RGB"))
    assert out is not im and out.size == im.size and out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(im), before)
    assert to_srgb(im, None) is im


def test_report_thumbnail_shows_the_srgb_colours():
    import base64
    import io

    from screener.backfill.thumbs import thumbnail_data_uri

    original = swatches(720)
    encoded = icc.encode_in(original, icc.ADOBE_RGB)

    def thumb(data):
        uri = thumbnail_data_uri(data, side=90)
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))), np.int16)

    truth = thumb(images.encode(original, "PNG"))
    managed = thumb(images.encode(encoded, "PNG", icc_profile=icc.ADOBE_RGB))
    ignored = thumb(images.encode(encoded, "PNG"))
    assert np.abs(managed - truth).mean() < np.abs(ignored - truth).mean() / 3


def ink_patches(size: int = 768) -> Image.Image:
    """A CMYK print: paper, 100 % black, each ink at 100 % and 50 % of all three, in flat patches."""
    im = Image.new("CMYK", (size, size), (0, 0, 0, 0))
    inks = [(0, 0, 0, 255), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (128, 128, 128, 0)]
    step = size // len(inks)
    for i, ink in enumerate(inks):
        im.paste(ink, (i * step, size // 2 - 60, (i + 1) * step, size // 2 + 60))
    return im, [((i * step + step // 2), size // 2) for i in range(len(inks))]


def srgb8(linear: float) -> float:
    return 255.0 * (12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_print_export_is_seen_through_its_profile(fmt):
    """100 % black ink is the press's dark grey and 50 % of each ink a light grey, as the embedded
    profile says; Pillow without the profile would make them RGB 0 and a mid-grey."""
    im, centres = ink_patches()
    kw = {"quality": 95} if fmt == "JPEG" else {}
    managed = decode_rgb(read_header(images.encode(im, fmt, icc_profile=icc.CMYK_PRESS, **kw))[0], 640)
    naive = decode_rgb(read_header(images.encode(im, fmt, **kw))[0], 640)
    assert managed.mode == naive.mode == "RGB"
    scale = managed.width / im.width
    for (x, y), ink in zip(centres, [(0, 0, 0, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0.5, 0.5, 0.5, 0)]):
        want = [srgb8(v) for v in icc.press_rgb(*ink)]
        got = managed.getpixel((int(x * scale), int(y * scale)))
        # Little CMS interpolates the profile's 9-point grid, and JPEG adds its own error.
        assert max(abs(g - w) for g, w in zip(got, want)) <= 10, (ink, got, want)
    assert managed.getpixel((int(centres[0][0] * scale), int(centres[0][1] * scale)))[0] > 90  # not black
    assert naive.getpixel((int(centres[0][0] * scale), int(centres[0][1] * scale)))[0] < 10  # Pillow's reading
    assert managed.getpixel((5, 5)) == (255, 255, 255)  # blank paper stays white


@pytest.mark.parametrize("profile", [icc.ADOBE_RGB, b"not an ICC profile", icc.CMYK_PRESS + b"\0" * (1 << 20)],
                         ids=["rgb-profile", "garbage", "oversized"])
def test_cmyk_with_an_unusable_profile_keeps_pillows_conversion(profile):
    im, _ = ink_patches(256)
    with_profile = decode_rgb(read_header(images.encode(im, "TIFF", icc_profile=profile))[0], 64)
    without = decode_rgb(read_header(images.encode(im, "TIFF"))[0], 64)
    np.testing.assert_array_equal(np.asarray(with_profile), np.asarray(without))


def test_cmyk_profile_is_not_applied_again_at_model_size(classifier, config):
    """The decoder converted the CMYK photo; prepare leaves its RGB pixels alone."""
    im, _ = ink_patches()
    data = images.encode(im, "JPEG", quality=95, icc_profile=icc.CMYK_PRESS)
    raw, header = read_header(data)
    assert header.mode == "CMYK" and srgb_transform(header.icc_profile, header.mode) is None
    assert screen_bytes(data, classifier, config, "image/jpeg").scores is not None
