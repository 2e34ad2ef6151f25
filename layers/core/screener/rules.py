"""Rule checks: cheap, pure, and run before any pixel is decoded. Each failure is a named Reason.

Public API::

    check_size(size: int, limits: RuleLimits) -> Reason | None
        before download, from HEAD's ContentLength: EMPTY or TOO_LARGE_BYTES
    check_header(header: ImageHeader, limits: RuleLimits, decode_min_side: int = 0) -> RuleResult
        from the header only: UNSUPPORTED_FORMAT, DECOMPRESSION_BOMB (pixel cap on what the
        decoder will allocate for a short side >= decode_min_side), LOW_RESOLUTION, MULTI_FRAME
    check_content_type(declared: str | None, header: ImageHeader) -> Reason | None
        CONTENT_TYPE_MISMATCH when the declared type names another format
    RuleResult(reasons, may_decode)

Formats: JPEG, PNG, WebP, TIFF and GIF are allowed by default (ALLOWED_FORMATS narrows it).
HEIC/HEIF/AVIF are recognised by their ISO-BMFF brand and refused as ``unsupported-format``:
decoding them needs native plugins the runtime layer does not carry, and catalog uploads are
expected as JPEG/PNG/WebP. A refused photo is never lost; it goes to review with that reason.

Multi-frame images (animated GIF/WebP, multi-page TIFF) are screened on their first frame and
flagged ``multi-frame``, so a person sees the rest. Low resolution is still scored (the scores
help the reviewer), whereas an unsupported format or a pixel count over the cap stops the
pipeline before decoding: a 40,000 x 40,000 PNG of a few KB would otherwise take gigabytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import RuleLimits
from .decode import ImageHeader
from .reasons import Reason

# Reasons after which the pixels must not be decoded at all.
BLOCKING = frozenset({Reason.UNSUPPORTED_FORMAT, Reason.DECOMPRESSION_BOMB})

# Declared Content-Type -> the Pillow format it promises.
_MIME_FORMATS = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/pjpeg": "JPEG",
    "image/png": "PNG",
    "image/x-png": "PNG",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/x-ms-bmp": "BMP",
}
# Types that promise nothing in particular: SDKs and browsers send these for unknown files.
_UNDECLARED = {"", "binary/octet-stream", "application/octet-stream"}


@dataclass(frozen=True)
class RuleResult:
    reasons: tuple[Reason, ...]
    may_decode: bool  # False when decoding would be unsafe or pointless


def check_size(size: int, limits: RuleLimits) -> Reason | None:
    """Decide from the object's size alone, before downloading it."""
    if size <= 0:
        return Reason.EMPTY
    if size > limits.max_bytes:
        return Reason.TOO_LARGE_BYTES
    return None


def check_header(header: ImageHeader, limits: RuleLimits, decode_min_side: int = 0) -> RuleResult:
    """``decode_min_side``: the short side the photo will be decoded to (the model's analysis
    size). The pixel cap protects memory, so it counts the pixels the decoder needs memory for
    (``ImageHeader.decoded_pixels``): a 61 or 100 MP baseline camera JPEG, DCT-scaled by 8,
    passes; a PNG or a progressive JPEG of the same size does not.
    Pillow itself refuses any image over 2 x Image.MAX_IMAGE_PIXELS (179 MP) when opening it, so
    the configured cap can go no higher (config.PILLOW_OPEN_LIMIT)."""
    reasons: list[Reason] = []
    if header.format not in limits.allowed_formats:
        reasons.append(Reason.UNSUPPORTED_FORMAT)
    if header.decoded_pixels(decode_min_side) > limits.max_pixels or header.width <= 0 or header.height <= 0:
        reasons.append(Reason.DECOMPRESSION_BOMB)
    if min(header.width, header.height) < limits.min_side_px:
        reasons.append(Reason.LOW_RESOLUTION)
    if header.frames > 1:
        reasons.append(Reason.MULTI_FRAME)
    return RuleResult(tuple(reasons), may_decode=not BLOCKING.intersection(reasons))


def check_content_type(declared: str | None, header: ImageHeader) -> Reason | None:
    """A declared image type must name the format the bytes are in; any other declared type
    (text/html, application/pdf, ...) on an image is a mismatch too."""
    mime = (declared or "").split(";", 1)[0].strip().lower()
    if mime in _UNDECLARED:
        return None
    if _MIME_FORMATS.get(mime) == header.format:
        return None
    return Reason.CONTENT_TYPE_MISMATCH
