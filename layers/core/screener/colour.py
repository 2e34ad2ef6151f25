"""Embedded colour profiles -> sRGB, the colour space the model was trained in.

A photo tagged Adobe RGB (studio exports) or Display P3 (phones) stores other numbers for the
same colours: read as sRGB, its colours come out duller and its tones shifted, so the backdrop's
chroma, the exposure statistics and the network all see a different photo from the one a
browser shows. Photos without a profile, or with an sRGB one (most web exports), are left
untouched, bit for bit; so is every photo whose profile cannot be used (unreadable, over
``MAX_PROFILE_BYTES``, or of another colour space than the pixels'; grey profiles are not
applied).

CMYK photos (print exports) have no sRGB reading at all: Pillow's own conversion subtracts the
inks from white, which turns 100 % black ink into RGB 0 and 50 % of each colour ink into a
mid-grey that the print profile says is light. With an embedded CMYK profile, the decoder
converts through it instead (``cmyk_to_srgb``); without one, Pillow's conversion stands.

Public API::

    srgb_transform(icc: bytes | None, mode: str) -> ColourTransform | None   (RGB photos)
    to_srgb(im, transform) -> Image       a converted copy, or ``im`` itself when there is nothing to do
    cmyk_to_srgb(im) -> Image             a decoded CMYK image in sRGB, through its profile if usable

ImageCms (Little CMS) is imported on the first profiled photo only. Building a transform costs a
few ms, so transforms are cached per profile: a catalog's photos share a handful of them.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image

# Image modes whose pixels an RGB profile describes (palette and alpha are RGB by then).
_RGB_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA"})
# Display profiles are a few hundred bytes (matrix) to a few hundred KB (tables). A JPEG can chain
# up to ~16 MB of them: anything over this is not parsed, and never held in the cache below.
MAX_PROFILE_BYTES = 1 << 20


@dataclass(frozen=True)
class ColourTransform:
    source: str  # the profile's description, e.g. "Adobe RGB (1998)"
    transform: Any  # ImageCms.ImageCmsTransform, RGB or CMYK -> sRGB


def srgb_transform(icc: bytes | None, mode: str) -> ColourTransform | None:
    """The transform to sRGB for an RGB image of header ``mode`` carrying ``icc``; None to keep
    the pixels as they are (no profile, sRGB already, a profile that cannot be applied, or a
    photo that is not RGB: a CMYK one was converted by the decoder)."""
    if not icc or mode not in _RGB_MODES or len(icc) > MAX_PROFILE_BYTES:
        return None
    return _transform_for(bytes(icc), "RGB")


def cmyk_to_srgb(im: Image.Image) -> Image.Image:
    """A decoded CMYK image (ink amounts, 0 = none) in 8-bit sRGB: through the print profile it
    embeds, else, or when that profile cannot be used, Pillow's conversion without one."""
    icc = im.info.get("icc_profile")
    transform = _transform_for(bytes(icc), "CMYK") if icc and len(icc) <= MAX_PROFILE_BYTES else None
    if transform is None:
        return im.convert("RGB")
    from PIL import ImageCms  # noqa: PLC0415 - already imported by _transform_for

    return ImageCms.applyTransform(im, transform.transform)


@lru_cache(maxsize=16)
def _transform_for(icc: bytes, space: str) -> ColourTransform | None:
    """``space``: "RGB" or "CMYK", the pixels' colour space; a profile of another space is unusable."""
    from PIL import ImageCms  # noqa: PLC0415 - lazily: most containers never see a profile

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != space:
            return None
        description = (ImageCms.getProfileDescription(profile) or "").strip()
        if space == "RGB" and "sRGB" in description:  # "sRGB IEC61966-2.1" and its variants: nothing to do
            return None
        # No 1-pixel cache: a transform shared by threads must not keep state between calls.
        transform = ImageCms.buildTransform(profile, _srgb(), space, "RGB",
                                            renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=ImageCms.Flags.NOCACHE)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile is no reason to refuse the photo: read it without
    return ColourTransform(description[:64] or f"unnamed {space} profile", transform)


@lru_cache(maxsize=1)
def _srgb():
    from PIL import ImageCms  # noqa: PLC0415

    return ImageCms.createProfile("sRGB")


def to_srgb(im: Image.Image, transform: ColourTransform | None) -> Image.Image:
    """``im`` (8-bit RGB) in sRGB: a new image, never the caller's changed in place."""
    if transform is None:
        return im
    from PIL import ImageCms  # noqa: PLC0415 - already imported by srgb_transform

    return ImageCms.applyTransform(im, transform.transform)
