"""Every reason a photo can be sent to review, by name.

The value is what lands in the ``screen:reasons`` tag and in reports, so values are short,
stable and within S3's tag charset. Add a member here before using a new reason anywhere.
"""
from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    # Input could not be screened at all.
    EMPTY = "empty"  # zero bytes
    TOO_LARGE_BYTES = "too-large-bytes"  # over the byte cap; not downloaded whole
    NOT_AN_IMAGE = "not-an-image"  # text/HTML/SVG/anything not in decode.DECODABLE_FORMATS
    UNSUPPORTED_FORMAT = "unsupported-format"  # an image, but not on the allow-list (HEIC, AVIF, ...)
    TRUNCATED = "truncated"  # header fine, pixel data broken or cut short
    DECOMPRESSION_BOMB = "decompression-bomb"  # pixel count over the cap, refused before decoding
    CONTENT_TYPE_MISMATCH = "content-type-mismatch"  # declared Content-Type disagrees with the bytes
    # Rule checks.
    LOW_RESOLUTION = "low-resolution"
    MULTI_FRAME = "multi-frame"  # animated GIF / multi-page TIFF: first frame screened, flagged
    # Its destination name would pass S3's key limit (a destination prefix longer than incoming's).
    # An approved photo cannot be published under its name, so it goes to review for renaming.
    KEY_TOO_LONG = "key-too-long"
    # Model-based standards.
    BACKGROUND = "background"  # background class not allowed
    ANGLE = "angle"  # primary angle not allowed
    CROP = "crop"  # cropping inadequate
    QUALITY = "quality"  # image quality below threshold
    LOW_CONFIDENCE = "low-confidence"  # the model is unsure; any doubt means review
    # Operational.
    MODEL_ERROR = "model-error"  # inference failed
    INTERNAL_ERROR = "internal-error"  # anything unexpected; the object still goes to review
