"""Bytes -> 8-bit RGB Pillow image, the way a catalog photo should be seen.

Two steps, so rules can refuse an input before any pixel is decoded:
``read_header`` parses only the header (format, size, frames); ``decode_rgb`` then decodes at
reduced scale where the format allows it (JPEG DCT scaling via ``Image.draft``), applies the
EXIF orientation, takes the first frame of animations, composites transparency on white
(never black) and maps CMYK (through its print profile, if it embeds one), 16-bit, float,
grayscale and palette images to 8-bit RGB. The header keeps any embedded RGB colour profile;
``as_srgb`` applies it to an image decoded from that photo, and ``preprocess`` calls it at model
size, where it costs a fraction of what it would on the decoded image.

A JPEG carrying CIPA's Multi-Picture extension is a JPEG with one photo. Cameras store a large
preview in it, Android's Ultra HDR and iPhones an HDR gain map, 3D cameras the second eye.
Pillow names such a file MPO and counts those images as frames. Every browser shows the
primary image alone, so it is screened as a single JPEG: reduced-scale decoding,
``image/jpeg``, no multi-frame flag.

Only the formats in ``DECODABLE_FORMATS`` are ever parsed. Pillow would otherwise try every
plugin it has (PPM, IM, EPS, ...) on hostile bytes: more parsers exposed, and their error
messages quote header bytes, which would then reach the logs. Anything else is not-an-image.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The plugins for exactly DECODABLE_FORMATS, registered once at import (~3 ms). Otherwise the
# first WebP, TIFF, GIF or BMP photo in a container makes Image.open call Image.init(), which
# imports every plugin Pillow has: 20-30 ms of CPU for parsers that are never used.
from PIL import BmpImagePlugin, GifImagePlugin, JpegImagePlugin, PngImagePlugin, TiffImagePlugin, WebPImagePlugin  # noqa: F401, I001
from PIL.JpegImagePlugin import JpegImageFile

from .colour import cmyk_to_srgb, srgb_transform, to_srgb
from .reasons import Reason

# ISO-BMFF brands that mark HEIC/HEIF/AVIF: recognisable, but not decodable here.
_BMFF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_TRANSPARENT_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
# The Pillow formats this module opens (config's allow-list is a subset of these).
DECODABLE_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "GIF", "BMP")


class DecodeFailure(Exception):
    """The bytes cannot be screened; ``reason`` says why in the shared vocabulary."""

    def __init__(self, reason: Reason, detail: str):
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImageHeader:
    format: str  # Pillow format name: JPEG, PNG, WEBP, GIF, TIFF, ... (a Multi-Picture JPEG is JPEG)
    width: int  # as stored, before EXIF orientation
    height: int
    mode: str
    frames: int  # images a viewer shows in turn (a Multi-Picture JPEG's hidden images are not)
    jpeg_luma_q: float | None  # mean of the JPEG luma quantisation table: high = heavily compressed
    # The embedded ICC profile, if any: prepare converts the pixels it describes to sRGB (colour.py).
    icc_profile: bytes | None = field(default=None, repr=False, compare=False)
    progressive: bool = False  # a progressive JPEG: libjpeg holds every DCT coefficient while decoding

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def decoded_pixels(self, min_side: int) -> int:
        """The pixels whose memory ``decode_rgb(im, min_side)`` needs. A baseline JPEG is DCT-scaled
        by the largest of 1/8, 1/4, 1/2 that keeps both sides >= ``min_side`` (Pillow's draft rule)
        and decoded a row of blocks at a time, so a 61 MP camera JPEG needs under 1 MP. Every other
        format decodes whole, and so, in effect, does a progressive JPEG: libjpeg buffers all of its
        DCT coefficients (2 bytes each, for every pixel and channel) before the first row comes out."""
        if self.format != "JPEG" or self.progressive or min_side <= 0:
            return self.pixels
        fits = min(self.width // min_side, self.height // min_side)
        s = next((s for s in (8, 4, 2) if fits >= s), 1)
        return -(-self.width // s) * -(-self.height // s)


def sniff_unsupported(data: bytes) -> str | None:
    """Name a known-but-unsupported container (HEIC/AVIF) from its magic bytes."""
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _BMFF_BRANDS:
        return data[8:12].decode("ascii")
    return None


def read_header(data: bytes) -> tuple[Image.Image, ImageHeader]:
    """Open lazily and read the header only. Raises DecodeFailure."""
    if not data:
        raise DecodeFailure(Reason.EMPTY, "zero bytes")
    brand = sniff_unsupported(data)
    if brand:
        raise DecodeFailure(Reason.UNSUPPORTED_FORMAT, f"ISO-BMFF '{brand}' (HEIC/AVIF) is not supported")
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own pixel limit; our pixel cap is checked by the rules instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=DECODABLE_FORMATS)
    except Image.DecompressionBombError as e:
        raise DecodeFailure(Reason.DECOMPRESSION_BOMB, str(e)) from e
    except UnidentifiedImageError as e:
        raise DecodeFailure(Reason.NOT_AN_IMAGE, "not a recognisable image") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise DecodeFailure(Reason.TRUNCATED, f"unreadable header: {e}") from e
    q = None
    tables = getattr(im, "quantization", None)
    if tables:
        q = float(np.mean(tables[min(tables)]))
    fmt, frames = str(im.format or "UNKNOWN"), int(getattr(im, "n_frames", 1) or 1)
    if isinstance(im, JpegImageFile):  # MPO included (module docstring)
        fmt, frames = "JPEG", 1
    header = ImageHeader(
        format=fmt,
        width=im.width,
        height=im.height,
        mode=im.mode,
        frames=frames,
        jpeg_luma_q=q,
        icc_profile=im.info.get("icc_profile") or None,
        progressive=bool(im.info.get("progressive")),
    )
    return im, header


def decode_rgb(im: Image.Image, min_side: int) -> Image.Image:
    """Decode to 8-bit RGB with the short side at least ``min_side`` where reduced decoding exists.

    JPEG is decoded by libjpeg's DCT scaling (1/2, 1/4, 1/8): the cheapest way to a small image,
    since it skips most of the inverse DCT. Other formats decode in full. Raises DecodeFailure.
    """
    try:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        if isinstance(im, JpegImageFile):  # an MPO's primary image too
            # draft keeps both sides >= the request, so the short side stays >= min_side.
            im.draft("RGB", (min_side, min_side))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
        # In place: without a rotation to apply, exif_transpose would otherwise return a full copy
        # of the pixels (16 MB for a 2000 px PNG). ``im`` is ours: read_header opened it for us.
        ImageOps.exif_transpose(im, in_place=True)
        return _to_rgb8(im)
    except DecodeFailure:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as e:
        raise DecodeFailure(Reason.TRUNCATED, f"pixel data unreadable: {e}") from e


def _to_rgb8(im: Image.Image) -> Image.Image:
    if "transparency" in im.info and im.mode in ("P", "L", "RGB", "1"):
        # A palette entry or a colour key (PNG tRNS, GIF) marks the transparent pixels; RGBA
        # turns either into alpha so they are composited on white below, not left black.
        im = im.convert("RGBA")
    mode = im.mode
    if mode == "RGB":
        return im  # no copy: convert('RGB') on an RGB image would duplicate it
    if mode == "P":
        return im.convert("RGB")
    if mode in _TRANSPARENT_MODES:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        # 16-bit data spans 0..65535; Pillow's own I->L conversion clips instead of scaling.
        top = 65535.0 if mode.startswith("I") and float(arr.max(initial=0)) > 255 else 255.0
        if mode == "F" and float(arr.max(initial=0)) <= 1.0:
            top = 1.0
        gray = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "CMYK":
        return cmyk_to_srgb(im)  # through its print profile when it embeds one (colour.py)
    return im.convert("RGB")  # L, 1, YCbCr, LAB, HSV


def as_srgb(im: Image.Image, header: ImageHeader) -> Image.Image:
    """``im``, decoded from the photo ``header`` describes (at any size), in sRGB."""
    return to_srgb(im, srgb_transform(header.icc_profile, header.mode))
