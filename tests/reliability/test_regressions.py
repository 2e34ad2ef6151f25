"""Regression tests for core bugs found by the reliability work, one per fix, at the unit level.

(The same inputs also run end to end in the bad-input matrix and the S3 server suite.)
"""
from __future__ import annotations

import io

from PIL import Image

from screener.decode import DecodeFailure, decode_rgb, read_header
from screener.reasons import Reason


# -- decode: a PNG colour key (tRNS on an RGB or grayscale image) was ignored, so its
#    transparent pixels reached the model black instead of white.
def test_colour_key_transparency_is_composited_on_white():
    for mode, key in (("RGB", (0, 0, 0)), ("L", 0)):
        im = Image.new(mode, (600, 600), key)
        im.paste(200 if mode == "L" else (200, 30, 30), (200, 200, 400, 400))
        buf = io.BytesIO()
        im.save(buf, "PNG", transparency=key)
        out = decode_rgb(read_header(buf.getvalue())[0], 256)
        assert out.getpixel((0, 0)) == (255, 255, 255), mode
        assert out.getpixel((300, 300)) != (255, 255, 255), mode  # the opaque part is untouched


# -- decode: Pillow tried every plugin it has, so a PPM header's bytes came back in the error
#    message and from there into the logs; only the decodable formats are parsed now.
def test_formats_outside_the_decodable_set_are_never_parsed():
    marker = b"SKU-4411-SECRET-HEADER"
    for data in (b"P6\n" + marker + b" 12\n255\n", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: " + marker + b"\n"):
        try:
            read_header(data)
        except DecodeFailure as e:
            assert e.reason is Reason.NOT_AN_IMAGE
            assert marker.decode() not in str(e) and marker.decode()[:8] not in e.detail
        else:
            raise AssertionError("parsed a format outside DECODABLE_FORMATS")
