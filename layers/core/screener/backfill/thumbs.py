"""Small JPEG thumbnails for the report page, decoded at reduced scale with the shared decoder."""
from __future__ import annotations

import base64
import io

from PIL import Image

from ..decode import DecodeFailure, as_srgb, decode_rgb, read_header


# Review photos include decompression bombs; never decode those just to draw a thumbnail.
MAX_THUMB_SOURCE_PIXELS = 100_000_000


def thumbnail_data_uri(data: bytes, side: int = 180) -> str | None:
    """A data: URI of a JPEG no larger than side x side, or None when the bytes do not decode."""
    try:
        im, header = read_header(data)
        if header.decoded_pixels(side) > MAX_THUMB_SOURCE_PIXELS:
            return None
        rgb = decode_rgb(im, side)
    except DecodeFailure:
        return None
    rgb.thumbnail((side, side), Image.Resampling.BILINEAR)
    # In sRGB, as the model saw it: the report embeds no profile, so a browser assumes sRGB.
    thumb = as_srgb(rgb, header)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
