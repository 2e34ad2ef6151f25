"""Label vocabularies and the split partition: which scene families each split may draw.

Held-out evaluation must look like deployment, where a retailer photographs things the model
never trained on. So besides ``heldout_in`` (the training families, new seeds) there is
``heldout_shift``, drawn partly from families that ``train`` and ``heldout_in`` never see:

==============  =====================================================  ===========================
factor          shared (train, heldout_in, heldout_shift)              heldout_shift only
==============  =====================================================  ===========================
product kind    sofa chair table lamp vase shelf cabinet bed           cushion rug stool
                mirror bench
texture         fabric velvet boucle wood lacquer metal marble         ceramic leather
                rattan concrete
white backdrop  white_pure white_near                                  white_cove
lifestyle       room_paint room_panel room_tile                        room_brick
                photo_coffee photo_motorcycle photo_astronaut          photo_rocket photo_camera
other backdrop  solid gradient stripes grey_seamless                   checks dots black_seamless
                photo_brick photo_grass photo_hubble photo_ihc         photo_gravel photo_coins
                                                                       photo_moon photo_retina
light setup     softbox_left softbox_right overhead frontal            raking_low warm_tungsten
==============  =====================================================  ===========================

A ``heldout_shift`` sample draws each factor from its shift-only pool with probability
``SHIFT_NOVEL_P`` and otherwise from the shared pool, and at least one factor is always novel;
``is_shift_only`` tells which. Mixing (rather than making every factor novel) keeps every label
value in the split and mirrors a deployment where most of a catalog is familiar.

Real photographs (``photo_*``) come from ``skimage.data`` and load offline. A photo counts as
"lifestyle" when it shows a place with depth that a product could stand in (a table top, a
garage, a studio portrait set, a launch site, a park); full-frame surfaces and non-scenes
(brick, grass, gravel, coins, the Moon's surface, a deep-field sky, a retina, a microscope
slide) are "other", like a printed backdrop. ``chelsea``/``cat`` (a face filling the frame) is
neither clearly, so it is not used.
"""
from __future__ import annotations

from dataclasses import dataclass

SPLITS = ("train", "heldout_in", "heldout_shift")
BACKGROUNDS = ("white", "lifestyle", "other")
BACKGROUND_NOT_SHOWN = "none"  # the label of a frame that shows no backdrop (catalog.judged_background)
ANGLES = ("front", "side", "angle", "detail")
CROP_DEFECTS = ("cut", "small", "offcentre")
DEFECTS = ("gaussian_blur", "motion_blur", "noise", "underexposure", "overexposure", "jpeg", "lowres")

SHIFT_NOVEL_P = 0.5


@dataclass(frozen=True)
class Pool:
    shared: tuple[str, ...]
    shift_only: tuple[str, ...]


PRODUCTS = Pool(
    shared=("sofa", "chair", "table", "lamp", "vase", "shelf", "cabinet", "bed", "mirror", "bench"),
    shift_only=("cushion", "rug", "stool"),
)
TEXTURES = Pool(
    shared=("fabric", "velvet", "boucle", "wood", "lacquer", "metal", "marble", "rattan", "concrete"),
    shift_only=("ceramic", "leather"),
)
BACKDROPS = {
    "white": Pool(shared=("white_pure", "white_near"), shift_only=("white_cove",)),
    "lifestyle": Pool(
        shared=("room_paint", "room_panel", "room_tile", "photo_coffee", "photo_motorcycle", "photo_astronaut"),
        shift_only=("room_brick", "photo_rocket", "photo_camera"),
    ),
    "other": Pool(
        shared=("solid", "gradient", "stripes", "grey_seamless", "photo_brick", "photo_grass", "photo_hubble", "photo_ihc"),
        shift_only=("checks", "dots", "black_seamless", "photo_gravel", "photo_coins", "photo_moon", "photo_retina"),
    ),
}
LIGHTS = Pool(
    shared=("softbox_left", "softbox_right", "overhead", "frontal"),
    shift_only=("raking_low", "warm_tungsten"),
)

_SHIFT_ONLY = frozenset(
    PRODUCTS.shift_only + TEXTURES.shift_only + LIGHTS.shift_only
    + tuple(name for pool in BACKDROPS.values() for name in pool.shift_only)
)


def is_shift_only(family: str) -> bool:
    """True for a product kind, texture, backdrop or light setup that only heldout_shift draws."""
    return family in _SHIFT_ONLY


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split
