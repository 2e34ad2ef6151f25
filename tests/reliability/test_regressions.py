"""Regression tests for core bugs found by the reliability work, one per fix, at the unit level.

(The same inputs also run end to end in the bad-input matrix and the S3 server suite.)
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from screener.decode import DecodeFailure, decode_rgb, read_header
from screener.preprocess import quality_features
from screener.reasons import Reason
from screener.s3_objects import MoveOutcome, S3Objects
from screener.screening import screen_bytes
from tests.fixtures import images
from tests.fixtures.s3 import BUCKET, Intercepted, client_error, keys


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


# -- preprocess: a frame of a few pixels has no Laplacian; its mean was NaN, which passed through
#    the model and failed open on crop/quality (NaN < threshold is False).
def test_tiny_images_get_finite_features(classifier, config):
    hdr = read_header(images.encode(Image.new("RGB", (1, 1)), "PNG"))[1]
    for side in (1, 2, 3, 4):
        feats = quality_features(Image.new("L", (side, side), 128), hdr)
        assert np.all(np.isfinite(feats)), side
    r = screen_bytes(images.encode(Image.new("RGB", (1, 1), (255, 255, 255)), "PNG"), classifier, config)
    assert r.reasons == (Reason.LOW_RESOLUTION, Reason.QUALITY)  # not low-confidence from NaN scores


# -- s3_objects: SeaweedFS answers a conditional delete on a key that is already gone with 412
#    (S3 says 404); the move was reported as "copied, source re-uploaded" though nothing was.
def test_conditional_delete_412_on_a_vanished_key_is_a_completed_move(s3):
    s3.put_object(Bucket=BUCKET, Key="incoming/a.jpg", Body=b"one")

    def lose_race(kwargs):  # a concurrent delivery deletes first; the server then answers 412
        s3.delete_object(Bucket=BUCKET, Key=kwargs["Key"])
        raise client_error("PreconditionFailed", 412, "DeleteObject")

    objects = S3Objects(Intercepted(s3, delete_object=lose_race))
    res = objects.move(objects.head(BUCKET, "incoming/a.jpg"), "approved/a.jpg", {})
    assert res.outcome is MoveOutcome.MOVED and keys(s3) == ["approved/a.jpg"]


# -- process: when a concurrent delivery of the same event moved the object between this one's
#    HEAD and GetObjectTagging, the 404 was raised as an S3 error: the whole invocation failed
#    and was retried for nothing. Found by the concurrent-delivery race test on SeaweedFS.
def test_a_concurrent_delivery_moving_the_object_first_is_a_duplicate_not_a_failure(s3, classifier, config):
    from screener.process import process_object

    key, dest = "incoming/twin.jpg", "approved/twin.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=images.good_jpeg())

    def the_other_delivery_wins(kwargs):
        s3.copy_object(Bucket=BUCKET, Key=dest, CopySource={"Bucket": BUCKET, "Key": key})
        s3.delete_object(Bucket=BUCKET, Key=key)

    objects = S3Objects(Intercepted(s3, get_object_tagging=the_other_delivery_wins))
    out = process_object(objects, classifier, config, BUCKET, key)
    assert (out.outcome, out.destination) == (MoveOutcome.DUPLICATE, dest)
    assert keys(s3) == [dest]
