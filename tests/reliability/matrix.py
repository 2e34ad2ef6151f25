"""The bad-input matrix: every input an uploader can throw at incoming/, and what must happen to it.

One table drives the tests (test_bad_inputs.py) and the documentation: RELIABILITY.md carries
``python -m tests.reliability.matrix`` verbatim, and a test fails when the two drift apart.

Each row runs through the real handler with a 1 MiB byte cap (``MAX_BYTES``) and the default
limits otherwise. ``decoded``: whether any pixel is decoded; ``downloaded``: whether GetObject
is called at all. Rows whose verdict is approved are legitimate photos in an awkward encoding:
the screener must see them as a person would, and they pass.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from tests.fixtures import icc, images

MAX_BYTES = 1024 * 1024
WHITE = (255, 255, 255)
S3_MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class Case:
    id: str
    what: str  # the input, for the table
    key: str  # decoded key under incoming/
    data: Callable[[], bytes]
    verdict: str
    reasons: tuple[str, ...]
    why: str  # what decides it, for the table
    content_type: str | None = None
    decoded: bool = True
    downloaded: bool = True
    # pixels the model saw: (decoded RGB image) -> None, asserting
    check: Callable[[Image.Image], None] | None = None


# ------------------------------------------------------------------ builders
def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    return images.encode(im, fmt, **kw)


def _photo(size=(800, 800), seed=0) -> Image.Image:
    return images.product(size=size, seed=seed)


def _cutout(size=(800, 800)) -> Image.Image:
    """An RGBA product cut-out: the product opaque, everything else transparent *black*, the
    classic trap: drop the alpha and the background turns black."""
    rgba = _photo(size).convert("RGBA")
    alpha = Image.new("L", size, 0)
    w, h = size
    ImageDraw.Draw(alpha).ellipse((w * 0.2, h * 0.25, w * 0.8, h * 0.75), fill=255)
    black = Image.new("RGBA", size, (0, 0, 0, 0))
    return Image.composite(rgba, black, alpha)


def rgba_cutout() -> bytes:
    return _save(_cutout(), "PNG")


def palette_transparent() -> bytes:
    """A palette PNG whose background index is transparent and black in the palette."""
    p = _cutout().convert("RGB").quantize(64)
    pal = p.getpalette()
    bg = p.getpixel((0, 0))  # the corner is the black background
    assert pal[bg * 3: bg * 3 + 3] == [0, 0, 0]
    return _save(p, "PNG", transparency=bg)


def colour_key_rgb() -> bytes:
    """An RGB PNG with a tRNS colour key: pure black means transparent."""
    return _save(_cutout().convert("RGB"), "PNG", transparency=(0, 0, 0))


def cmyk_jpeg() -> bytes:
    return _save(_photo().convert("CMYK"), "JPEG", quality=90)


def cmyk_profiled_jpeg() -> bytes:
    """A Photoshop-style CMYK export: the inks plus the press profile they were separated for."""
    return _save(_photo().convert("CMYK"), "JPEG", quality=90, icc_profile=icc.CMYK_PRESS)


def adobe_rgb_jpeg() -> bytes:
    """A studio export: the photo's colours written in Adobe RGB, the profile embedded."""
    return _save(icc.encode_in(_photo(), icc.ADOBE_RGB), "JPEG", quality=90, icc_profile=icc.ADOBE_RGB)


def camera_jpeg() -> bytes:
    """A camera's or HDR phone's JPEG: a hidden preview or gain map after the photo (Pillow: MPO)."""
    return images.multi_picture_jpeg(_photo())


def broken_profile_jpeg() -> bytes:
    return _save(_photo(), "JPEG", quality=90, icc_profile=b"\0" * 200)


def gray16_png() -> bytes:
    g = np.asarray(_photo().convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    return _save(Image.frombytes("I;16", (g.shape[1], g.shape[0]), g.astype("<u2").tobytes()), "PNG")


def rgb16_png() -> bytes:
    """A 16-bit-per-channel RGB PNG, written by hand (Pillow cannot save one)."""
    a = np.asarray(_photo(), dtype=np.uint16) * 257
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def grayscale_jpeg() -> bytes:
    return _save(_photo().convert("L"), "JPEG", quality=90)


def exif_rotated() -> bytes:
    """A landscape-stored frame that EXIF orientation 6 turns into a portrait photo."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(_photo((900, 600)), "JPEG", quality=90, exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [_photo((600, 600), seed=i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def multipage_tiff() -> bytes:
    pages = [_photo((600, 600), seed=i) for i in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return buf.getvalue()


def heic() -> bytes:
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)


def avif() -> bytes:
    return b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)


def truncated_jpeg() -> bytes:
    data = images.good_jpeg()
    return data[: len(data) // 2]


def over_cap() -> bytes:
    """A real JPEG padded past the byte cap (bytes after EOI are legal and ignored by decoders)."""
    data = images.good_jpeg()
    return data + bytes(MAX_BYTES + 1 - len(data))


def tiny(side: int) -> Callable[[], bytes]:
    return lambda: _save(_photo((side, side)), "PNG")


def bomb(side: int) -> Callable[[], bytes]:
    return lambda: images.bomb_png(side)


def camera_61mp(progressive: bool = False) -> Callable[[], bytes]:
    """A 9,504 x 6,336 JPEG (60.2 MP, over the 60 MP cap as stored), as a high-resolution camera
    writes it. Every 24 x 24 cell is one colour, so it fits under the matrix's 1 MiB byte cap
    (whole 8 x 8 blocks of one value cost a few bits each) and decodes at 1/8 to exactly the
    396 x 264-cell product, textured where the statistics look."""
    def build() -> bytes:
        big = _photo((396, 264)).resize((9504, 6336), Image.Resampling.NEAREST)
        return _save(big, "JPEG", quality=75, optimize=True, progressive=progressive)
    return build


def long_key() -> str:
    """A key of exactly S3's 1024-byte limit (UTF-8), in segments of <= 255 bytes (SeaweedFS's
    limit per segment), so the same key is valid on both servers."""
    key = "incoming/long/" + "/".join(["é" * 100] * 4) + "/"
    pad = S3_MAX_KEY_BYTES - len(key.encode()) - len(".jpg")
    return key + "x" * pad + ".jpg"


# ------------------------------------------------------------------ pixel checks
def corners_white(im: Image.Image) -> None:
    w, h = im.size
    for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        assert im.getpixel(xy) == WHITE, f"transparent corner {xy} decoded as {im.getpixel(xy)}, not white"


def portrait(im: Image.Image) -> None:
    assert im.height > im.width, f"EXIF orientation not applied: decoded {im.size}"


def assert_mode_rgb(im: Image.Image) -> None:
    assert im.mode == "RGB"


def rgb8(im: Image.Image) -> None:
    assert im.mode == "RGB"
    assert im.getpixel((0, 0)) == WHITE  # 16-bit white scaled to 255, not clipped or darkened


# ------------------------------------------------------------------ the matrix
CASES: tuple[Case, ...] = (
    Case("zero-bytes", "zero bytes", "incoming/bad/empty.jpg", lambda: b"", "review", ("empty",),
         "HEAD size 0: nothing to decode", content_type="image/jpeg", decoded=False),
    Case("truncated-jpeg", "JPEG cut in half", "incoming/bad/truncated.jpg", truncated_jpeg, "review",
         ("truncated",), "header fine, pixel data ends early", content_type="image/jpeg"),
    Case("text-as-jpg", "plain text named .jpg", "incoming/bad/notes.jpg",
         lambda: b"SKU 4411, colour red, sizes 38-46\n" * 20, "review", ("not-an-image",),
         "no image signature", content_type="image/jpeg", decoded=False),
    Case("html-as-jpg", "HTML named .jpg", "incoming/bad/page.jpg",
         lambda: b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "review",
         ("not-an-image",), "no image signature", content_type="image/jpeg", decoded=False),
    Case("svg-as-jpg", "SVG named .jpg", "incoming/bad/vector.jpg",
         lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="900"><rect width="900" '
                 b'height="900" fill="white"/></svg>', "review", ("not-an-image",),
         "SVG is never rasterised (scripts, external refs)", content_type="image/svg+xml", decoded=False),
    Case("png-declared-jpeg", "PNG bytes sent as image/jpeg", "incoming/bad/mislabelled.jpg",
         lambda: _save(_photo(), "PNG"), "review", ("content-type-mismatch",),
         "declared type names another format; the storefront would serve it wrongly",
         content_type="image/jpeg"),
    Case("jpeg-declared-html", "JPEG sent as text/html", "incoming/bad/served-as-html.jpg", images.good_jpeg,
         "review", ("content-type-mismatch",), "a non-image type on an image", content_type="text/html"),
    Case("jpeg-octet-stream", "JPEG sent as binary/octet-stream", "incoming/ok/undeclared.jpg", images.good_jpeg,
         "approved", (), "SDK default type promises nothing: judged on the bytes",
         content_type="binary/octet-stream"),
    Case("heic", "HEIC (iPhone)", "incoming/bad/IMG_0001.heic", heic, "review", ("unsupported-format",),
         "ISO-BMFF brand recognised; no decoder in the runtime layer", content_type="image/heic", decoded=False),
    Case("avif", "AVIF", "incoming/bad/photo.avif", avif, "review", ("unsupported-format",),
         "ISO-BMFF brand recognised; no decoder in the runtime layer", content_type="image/avif", decoded=False),
    Case("bmp", "BMP (known, not on the allow-list)", "incoming/bad/scan.bmp", lambda: _save(_photo((520, 520)), "BMP"),
         "review", ("unsupported-format",), "ALLOWED_FORMATS", content_type="image/bmp", decoded=False),
    Case("ppm", "PPM (a format this screener never parses)", "incoming/bad/raw.ppm",
         lambda: b"P6\nSKU-4411-SECRET-HEADER 12\n255\n", "review", ("not-an-image",),
         "only JPEG/PNG/WebP/TIFF/GIF/BMP parsers are ever run", decoded=False),
    Case("animated-gif", "animated GIF, 3 frames", "incoming/bad/spin.gif", animated_gif, "review",
         ("multi-frame",), "first frame screened, the rest need a person", content_type="image/gif"),
    Case("multipage-tiff", "multi-page TIFF, 3 pages", "incoming/bad/pages.tif", multipage_tiff, "review",
         ("multi-frame",), "first page screened, the rest need a person", content_type="image/tiff"),
    Case("cmyk-jpeg", "CMYK JPEG (print export), no profile", "incoming/ok/cmyk.jpg", cmyk_jpeg, "approved", (),
         "converted to RGB (Pillow's conversion)", content_type="image/jpeg", check=assert_mode_rgb),
    Case("cmyk-profiled-jpeg", "CMYK JPEG with its print profile embedded", "incoming/ok/cmyk-press.jpg",
         cmyk_profiled_jpeg, "approved", (), "converted to sRGB through the profile (screener.colour)",
         content_type="image/jpeg", check=assert_mode_rgb),
    Case("adobe-rgb-jpeg", "JPEG in Adobe RGB, its profile embedded (studio export)", "incoming/ok/adobe.jpg",
         adobe_rgb_jpeg, "approved", (), "colours converted to sRGB at model size (screener.colour)",
         content_type="image/jpeg", check=assert_mode_rgb),
    Case("broken-profile-jpeg", "JPEG with a corrupt ICC profile", "incoming/ok/badicc.jpg", broken_profile_jpeg,
         "approved", (), "an unusable profile is ignored: the pixels are read as sRGB", content_type="image/jpeg",
         check=assert_mode_rgb),
    Case("camera-jpeg", "camera/phone JPEG with a hidden preview or HDR gain map (Pillow reads MPO)",
         "incoming/ok/camera.jpg", camera_jpeg, "approved", (),
         "one photo: the primary image is what browsers show; hidden images are not frames",
         content_type="image/jpeg", check=assert_mode_rgb),
    Case("gray16-png", "16-bit grayscale PNG", "incoming/ok/gray16.png", gray16_png, "approved", (),
         "scaled 0..65535 -> 0..255", content_type="image/png", check=rgb8),
    Case("rgb16-png", "16-bit RGB PNG", "incoming/ok/rgb16.png", rgb16_png, "approved", (),
         "reduced to 8 bits per channel", content_type="image/png", check=rgb8),
    Case("grayscale-jpeg", "grayscale JPEG", "incoming/ok/gray.jpg", grayscale_jpeg, "approved", (),
         "replicated to RGB", content_type="image/jpeg", check=assert_mode_rgb),
    Case("palette-transparent", "palette PNG, transparent index (black in the palette)",
         "incoming/ok/palette.png", palette_transparent, "approved", (), "transparency composited on white",
         content_type="image/png", check=corners_white),
    Case("rgba-cutout", "RGBA cut-out, transparent pixels black", "incoming/ok/cutout.png", rgba_cutout,
         "approved", (), "alpha composited on white, never black", content_type="image/png", check=corners_white),
    Case("colour-key-png", "RGB PNG with a tRNS colour key (black = transparent)", "incoming/ok/colour-key.png",
         colour_key_rgb, "approved", (), "colour key composited on white", content_type="image/png",
         check=corners_white),
    Case("exif-rotated", "JPEG stored landscape, EXIF orientation 6", "incoming/ok/rotated.jpg", exif_rotated,
         "approved", (), "EXIF orientation applied before scoring", content_type="image/jpeg", check=portrait),
    Case("tiny-40px", "40x40 PNG", "incoming/bad/thumb.png", tiny(40), "review", ("low-resolution",),
         "short side < min_side_px (500); still scored for the reviewer", content_type="image/png"),
    Case("tiny-1px", "1x1 PNG", "incoming/bad/pixel.png", tiny(1), "review", ("low-resolution", "quality"),
         "scored on defined statistics: no detail at all", content_type="image/png"),
    Case("bomb-40k", "decompression bomb: 40,000 x 40,000 PNG", "incoming/bad/bomb.png", bomb(40_000),
         "review", ("decompression-bomb",), "pixel count from the header, refused before decoding",
         content_type="image/png", decoded=False),
    Case("bomb-8k", "8,000 x 8,000 PNG (64 MP: under Pillow's own limit, over the 60 MP cap)",
         "incoming/bad/bomb-64mp.png", bomb(8_000), "review", ("decompression-bomb",),
         "MAX_IMAGE_PIXELS from the header", content_type="image/png", decoded=False),
    Case("camera-61mp-jpeg", "61 MP baseline JPEG (a high-resolution camera's, over the 60 MP cap as stored)",
         "incoming/ok/camera-61mp.jpg", camera_61mp(), "approved", (),
         "the cap counts decoded pixels: DCT-scaled by 8, it decodes to 0.94 MP", content_type="image/jpeg",
         check=assert_mode_rgb),
    Case("progressive-61mp-jpeg", "the same 61 MP photo as a progressive JPEG", "incoming/bad/progressive-61mp.jpg",
         camera_61mp(progressive=True), "review", ("decompression-bomb",),
         "libjpeg holds every coefficient of a progressive JPEG: counted whole, refused before decoding",
         content_type="image/jpeg", decoded=False),
    Case("over-byte-cap", "JPEG of cap + 1 byte", "incoming/bad/huge.jpg", over_cap, "review",
         ("too-large-bytes",), "HEAD size > MAX_IMAGE_BYTES: never downloaded", content_type="image/jpeg",
         decoded=False, downloaded=False),
    Case("key-spaces", "key with spaces and parentheses", "incoming/summer sale/red shoe (2).jpg",
         images.good_jpeg, "approved", (), "event key form-decoded once ('+' is a space)",
         content_type="image/jpeg"),
    Case("key-plus", "key with literal '+'", "incoming/c++ set+1.jpg", images.good_jpeg, "approved", (),
         "'%2B' decodes to '+', '+' to a space", content_type="image/jpeg"),
    Case("key-percent", "key with '%' and '%41'", "incoming/100% cotton %41.jpg", images.good_jpeg, "approved",
         (), "decoded exactly once: '%41' stays '%41'", content_type="image/jpeg"),
    Case("key-unicode", "key with accents (NFC and NFD) and emoji", "incoming/café/cafe\u0301 crème 🥐.jpg",
         images.good_jpeg, "approved", (), "UTF-8 bytes kept, no normalisation", content_type="image/jpeg"),
    Case("key-1024-bytes", "key of exactly 1,024 bytes (S3's maximum)", long_key(), images.good_jpeg,
         "approved", (), "approved/ is as long as incoming/: the destination stays <= 1,024 bytes",
         content_type="image/jpeg"),
)


def by_id(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def render() -> str:
    """The matrix as a Markdown table (RELIABILITY.md carries this verbatim)."""
    rows = ["| Input | Verdict | Reason(s) | Decoded | Downloaded | Why |", "|---|---|---|---|---|---|"]
    for c in CASES:
        reasons = ", ".join(f"`{r}`" for r in c.reasons) or "-"
        rows.append(f"| {c.what} | {c.verdict} | {reasons} | {'yes' if c.decoded else 'no'} | "
                    f"{'yes' if c.downloaded else 'no'} | {c.why} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
