"""The synthetic catalog generator: determinism, labels, splits, resolution, defects, CSV."""
from __future__ import annotations

import csv
import dataclasses
import io
import math

import numpy as np
import pytest
from PIL import Image

from model_build.synth import (ANGLES, BACKGROUNDS, CROP_DEFECTS, CSV_COLUMNS, DEFECTS, SPLITS, encode,
                               is_shift_only, iter_catalog, render_sample, render_spec, sample_spec, write_catalog)
from model_build.synth.catalog import BACKDROP_MIN_VISIBLE, judged_background
from model_build.synth.defects import EXPOSURE_DEFECTS, exposure_visibility, judged_severities, quality_from
from model_build.synth.partition import BACKDROPS, LIGHTS, PRODUCTS, TEXTURES
from model_build.synth.render import render_scene

N_SPECS = 600


@pytest.fixture(scope="module")
def specs():
    return {split: [sample_spec(i, 3, split) for i in range(N_SPECS)] for split in SPLITS}


def _cheap_index(seed: int, split: str, max_pixels: int = 1_300_000, background: str | None = None) -> int:
    """An index whose full-resolution render is small, so full-size tests stay fast."""
    for i in range(500):
        s = sample_spec(i, seed, split)
        if s.width * s.height <= max_pixels and s.angle != "detail" and (background is None or s.background == background):
            return i
    raise AssertionError("no cheap sample found")


def _quarter(spec):
    """The same scene at a quarter of the size; framing is resolution-independent."""
    return render_scene(dataclasses.replace(spec, defects=()), spec.width // 4, spec.height // 4)


def test_same_seed_gives_identical_bytes_and_other_seeds_differ():
    i = _cheap_index(0, "train")
    a, b = encode(render_sample(i, 0, "train")), encode(render_sample(i, 0, "train"))
    assert a == b
    assert encode(render_sample(i, 1, "train")) != a
    # heldout_in is the same families with new seeds: never a copy of a training sample
    assert sample_spec(i, 0, "heldout_in").render_seed != sample_spec(i, 0, "train").render_seed


def test_iter_catalog_is_render_sample_in_order():
    seed = _cheap_seed(2, "heldout_in")
    got = [(s.image.size, s.labels) for s in iter_catalog(2, seed, "heldout_in")]
    want = [((sample_spec(i, seed, "heldout_in").width, sample_spec(i, seed, "heldout_in").height),
             render_sample(i, seed, "heldout_in").labels) for i in range(2)]
    assert got == want


def test_full_resolution_rgb_at_catalog_sizes(specs):
    for split, ss in specs.items():
        for s in ss:
            long_side, short_side = max(s.width, s.height), min(s.width, s.height)
            assert 1000 <= long_side <= 3000
            assert short_side == long_side or abs(short_side / long_side - 0.75) < 0.01
        shapes = {("square" if s.width == s.height else "landscape" if s.width > s.height else "portrait") for s in ss}
        assert shapes == {"square", "landscape", "portrait"}
    i = _cheap_index(2, "train")
    sample = render_sample(i, 2, "train")
    assert sample.image.mode == "RGB"
    assert sample.image.size == (sample.labels.width, sample.labels.height) == (sample_spec(i, 2, "train").width,
                                                                                 sample_spec(i, 2, "train").height)
    decoded = Image.open(io.BytesIO(encode(sample)))
    assert decoded.format == sample.encoding and decoded.mode == "RGB" and decoded.size == sample.image.size


def test_every_label_value_occurs_in_every_split(specs):
    for split, ss in specs.items():
        assert {s.background for s in ss} == set(BACKGROUNDS)
        assert {s.angle for s in ss} == set(ANGLES)
        assert {s.crop_defect for s in ss} == {None, *CROP_DEFECTS}
        seen_defects = {d for s in ss for d, _ in s.defects}
        assert seen_defects == set(DEFECTS), split
        assert {s.encoding for s in ss} == {"JPEG", "PNG"}


def test_label_distributions_and_quality_rule(specs):
    ss = specs["train"]
    clean = np.mean([s.quality >= 0.85 for s in ss])
    assert 0.5 <= clean <= 0.7  # ~60 % clean
    sev = [v for s in ss for _, v in s.defects if v > 0.15]
    assert min(sev) < 0.3 and max(sev) > 0.9  # severities spread over the range
    for s in ss:
        d = s.defect_map
        assert all(0 < v <= 1 for v in d.values())
        assert s.quality == round(1 - max(d.values(), default=0.0), 3)
        if s.encoding == "PNG":
            assert s.jpeg_quality is None and "jpeg" not in d
        else:
            assert ("jpeg" in d) == (s.jpeg_quality < 85)
        if s.angle == "detail":
            assert s.crop_defect is None and s.framing is None
        yaw = abs(s.yaw)
        if s.angle == "front":
            assert yaw <= 8
        elif s.angle == "side":
            assert 82 <= yaw <= 98
        elif s.angle == "angle":
            assert 30 <= yaw <= 60


def test_held_out_families_never_reach_train_or_heldout_in():
    for split in ("train", "heldout_in"):
        for i in range(2000):
            s = sample_spec(i, 11, split)
            novel = [f for f in (s.product, s.texture, s.trim, s.backdrop, s.light) if is_shift_only(f)]
            assert not novel, (split, i, novel)


def test_heldout_shift_always_has_a_novel_family_and_covers_them_all(specs):
    ss = specs["heldout_shift"]
    assert all(s.novel_factors() for s in ss)
    seen = {f for s in ss for f in (s.product, s.texture, s.backdrop, s.light)}
    expected = set(PRODUCTS.shift_only + TEXTURES.shift_only + LIGHTS.shift_only)
    expected |= {b for pool in BACKDROPS.values() for b in pool.shift_only}
    assert expected <= seen
    # familiar families still appear, as in a real catalog
    assert any(not is_shift_only(s.product) for s in ss)


def _box(mask):
    ys, xs = np.nonzero(mask)
    return xs.min(), xs.max() + 1, ys.min(), ys.max() + 1


def test_crop_labels_match_the_rendered_product():
    checked = {None: 0, "cut": 0, "small": 0, "offcentre": 0}
    i = 0
    while min(checked.values()) < 2:
        spec = sample_spec(i, 4, "train")
        i += 1
        if spec.angle == "detail" or checked[spec.crop_defect] >= 2:
            continue
        m = _quarter(spec).mask
        H, W = m.shape
        x0, x1, y0, y1 = _box(m)
        touches = x0 == 0 or y0 == 0 or x1 == W or y1 == H
        fill = max((x1 - x0) / W, (y1 - y0) / H)
        off = max(abs((x0 + x1) / 2 / W - 0.5), abs((y0 + y1) / 2 / H - 0.5))
        if spec.crop_defect is None:
            assert not touches and fill >= 0.5 and off <= 0.07, i
        elif spec.crop_defect == "cut":
            assert touches, i
        elif spec.crop_defect == "small":
            assert not touches and max(x1 - x0, y1 - y0) / min(W, H) <= 0.22, i
        else:
            assert not touches and off >= 0.22 and fill < 0.5, i
        checked[spec.crop_defect] += 1


def _faces_towards(camera_pos, prim) -> set[str]:
    """Which vertical faces of a box primitive face the camera (by more than 15 degrees)."""
    seen = set()
    for name, local in (("front", (0, 0, -1)), ("back", (0, 0, 1)), ("left", (-1, 0, 0)), ("right", (1, 0, 0))):
        n = prim.rot @ np.array(local, float)
        centre = prim.centre + prim.rot @ (np.array(local) * prim.size)
        to_cam = camera_pos - centre
        if n @ to_cam / np.linalg.norm(to_cam) > math.sin(math.radians(15)):
            seen.add(name)
    return seen


def test_views_show_different_geometry():
    """Front shows the face, side the profile, three-quarter two faces; and the silhouettes differ."""
    from model_build.synth.products import build_product
    from model_build.synth.shapes import BOX, rot_y

    spec = next(s for s in (sample_spec(i, 9, "train") for i in range(300)) if s.product == "cabinet" and s.angle != "detail")
    body = max((p for p in build_product(spec.product, spec.texture, np.random.default_rng(spec.render_seed)).prims
                if p.shape == BOX), key=lambda p: np.prod(p.size))
    aspect, faces = {}, {}
    for label, yaw in (("front", 3.0), ("side", 88.0), ("angle", 42.0)):
        r = _quarter(dataclasses.replace(spec, yaw=yaw, angle=label))
        x0, x1, y0, y1 = _box(r.mask)
        aspect[label] = (x1 - x0) / (y1 - y0)
        faces[label] = _faces_towards(r.camera.pos, body.moved(rot_y(yaw), np.zeros(3)))
    assert faces["front"] == {"front"}
    assert len(faces["side"]) == 1 and faces["side"] <= {"left", "right"}
    assert len(faces["angle"]) == 2 and "front" in faces["angle"]
    assert aspect["front"] > 1.3 * aspect["side"]  # a cabinet is wider than deep


def _front_and_side(kind: str):
    spec = next(s for s in (sample_spec(i, 9, "train") for i in range(600))
                if s.product == kind and s.angle != "detail" and s.crop_defect is None)
    return [_quarter(dataclasses.replace(spec, yaw=yaw, angle=label, elevation=8.0)).mask
            for label, yaw in (("front", 2.0), ("side", 89.0))]


def test_a_mirror_shows_its_face_in_front_and_a_sliver_from_the_side():
    """A training kind shaped like the held-out cushion: an upright slab whose face is its front."""
    assert "mirror" in PRODUCTS.shared
    front, side = _front_and_side("mirror")
    assert front.sum() > 4 * side.sum()  # framed alike, the leaning edge covers a fraction of the face


def test_a_bench_is_long_from_the_front_and_short_from_the_side():
    """A training kind long and low like the held-out rug."""
    assert "bench" in PRODUCTS.shared
    (fx0, fx1, fy0, fy1), (sx0, sx1, sy0, sy1) = (_box(m) for m in _front_and_side("bench"))
    assert (fx1 - fx0) / (fy1 - fy0) > 1.5 * (sx1 - sx0) / (sy1 - sy0)


def test_some_training_shots_come_from_above_but_no_close_up_or_rug_changes(specs):
    """HIGH_SHOT_P of the other views look down from 24-45 degrees, as the shifted set's rugs do."""
    from model_build.synth.scene import HIGH_SHOT_P

    views = [s for s in specs["train"] if s.angle != "detail"]
    high = np.mean([s.elevation >= 24 for s in views])
    assert abs(high - HIGH_SHOT_P) < 0.05
    assert all(s.elevation <= 45 for s in views)
    assert all(28 <= s.elevation <= 50 for s in specs["heldout_shift"] if s.product == "rug")


def test_detail_close_up_is_filled_by_the_product():
    details = [s for s in (sample_spec(i, 6, "train") for i in range(120)) if s.angle == "detail"][:4]
    fills = [_quarter(s).mask.mean() for s in details]
    assert len(fills) == 4 and np.median(fills) > 0.6


def test_white_backgrounds_are_near_white_at_the_border():
    n = 0
    for i in range(300):
        spec = sample_spec(i, 8, "train")
        if spec.background != "white" or spec.angle == "detail" or spec.crop_defect == "cut":
            continue
        a = _quarter(spec).image.astype(np.int16)
        b = max(2, min(a.shape[:2]) // 20)
        border = np.concatenate([a[:b].reshape(-1, 3), a[-b:].reshape(-1, 3), a[:, :b].reshape(-1, 3), a[:, -b:].reshape(-1, 3)])
        # The product's shadow may reach an edge; the backdrop itself is 240-255.
        assert np.median(border.min(axis=1)) >= 240, (i, spec.backdrop)
        assert (border.min(axis=1) >= 230).mean() >= 0.85, (i, spec.backdrop)
        n += 1
        if n == 5:
            break
    assert n == 5


def _laplacian_energy(im: Image.Image) -> float:
    g = np.asarray(im.convert("L"), dtype=np.float32)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.mean(np.abs(lap)))


def test_blur_is_measurable_at_full_resolution():
    spec = sample_spec(_cheap_index(12, "train", background="white"), 12, "train")
    clean = render_spec(dataclasses.replace(spec, defects=()))
    blurred = render_spec(dataclasses.replace(spec, defects=(("gaussian_blur", 0.5),)))  # sigma 2 px
    assert clean.image.size == blurred.image.size == (spec.width, spec.height)
    assert blurred.labels.quality == 0.5 and clean.labels.quality == 1.0
    e_clean, e_blur = _laplacian_energy(clean.image), _laplacian_energy(blurred.image)
    assert e_blur < 0.6 * e_clean
    # and it is a full-resolution defect: once both are shrunk to model size the gap mostly closes
    small = [_laplacian_energy(s.image.resize((224, 224), Image.Resampling.BOX)) for s in (clean, blurred)]
    assert small[1] / small[0] > e_blur / e_clean


def _judged_follow_nominal(judged: dict[str, float], nominal: dict[str, float]) -> None:
    """Judged severities: exposure at most its nominal severity, every other defect exactly it."""
    assert set(judged) <= set(nominal) and all(v > 0 for v in judged.values())
    for name, s in nominal.items():
        if name in EXPOSURE_DEFECTS:
            assert judged.get(name, 0.0) <= s
        else:
            assert judged[name] == s


def test_labels_of_rendered_samples_follow_their_spec():
    i = _cheap_index(13, "heldout_shift")
    spec = sample_spec(i, 13, "heldout_shift")
    lb = render_sample(i, 13, "heldout_shift").labels
    assert (lb.background, lb.angle, lb.crop_defect, lb.product, lb.texture, lb.backdrop, lb.split) == (
        spec.background, spec.angle, spec.crop_defect, spec.product, spec.texture, spec.backdrop, "heldout_shift")
    assert lb.crop_ok == (spec.crop_defect is None)
    _judged_follow_nominal(lb.defects, spec.defect_map)
    assert lb.quality == quality_from(lb.defects) >= spec.quality


def test_judged_background_is_none_only_when_no_backdrop_shows():
    assert judged_background("white", 0.5) == "white"
    assert judged_background("lifestyle", BACKDROP_MIN_VISIBLE) == "lifestyle"
    assert judged_background("other", BACKDROP_MIN_VISIBLE / 2) == "none"


def test_a_close_up_filled_by_the_product_is_labelled_background_none():
    # Small renders (framing is resolution-independent): one detail close-up that shows no
    # backdrop and one that shows some, and what each label says.
    found = {}
    for i in range(300):
        spec = dataclasses.replace(sample_spec(i, 5, "train"), width=160, height=160, defects=())
        if spec.angle != "detail":
            continue
        lb = render_spec(spec).labels
        clean = render_scene(spec, 160, 160)
        assert lb.backdrop_visible == pytest.approx(1 - clean.mask.mean(), abs=1e-4)
        found.setdefault(lb.backdrop_visible >= BACKDROP_MIN_VISIBLE, (lb, spec))
        if len(found) == 2:
            break
    (none_lb, none_spec), (seen_lb, seen_spec) = found[False], found[True]
    assert none_lb.background == "none" and none_lb.backdrop == none_spec.backdrop  # the set-up backdrop stays on record
    assert seen_lb.background == seen_spec.background


def test_exposure_visibility_scales_with_what_the_frame_can_show():
    white, grey, dark = (np.full((40, 40, 3), v, np.uint8) for v in (255, 118, 15))
    # mid-grey is the reference: it shows an error's whole nominal effect
    assert exposure_visibility(grey, "overexposure", 0.5) == exposure_visibility(grey, "underexposure", 0.5) == 1.0
    # nothing already white can get whiter; a white backdrop going grey is under-exposure at its plainest
    assert exposure_visibility(white, "overexposure", 0.8) == 0.0
    assert exposure_visibility(white, "underexposure", 0.5) == 1.0
    # a black product barely moves either way
    assert exposure_visibility(dark, "overexposure", 0.8) < 0.2 and exposure_visibility(dark, "underexposure", 0.6) < 0.2
    half = np.concatenate([white, dark], axis=1)  # white backdrop, dark product: only the product counts
    assert exposure_visibility(half, "overexposure", 0.8) == pytest.approx(exposure_visibility(dark, "overexposure", 0.8), abs=1e-6)


def test_judged_severities_scale_exposure_only():
    dark = np.full((40, 40, 3), 15, np.uint8)
    nominal = {"overexposure": 0.8, "gaussian_blur": 0.3, "jpeg": 0.2}
    judged = judged_severities(dark, nominal)
    _judged_follow_nominal(judged, nominal)
    assert judged["overexposure"] < 0.2 and (judged["gaussian_blur"], judged["jpeg"]) == (0.3, 0.2)
    assert judged_severities(np.full((40, 40, 3), 255, np.uint8), {"overexposure": 0.9}) == {}  # invisible: no defect


def test_an_invisible_over_exposure_is_not_labelled_poor():
    # A white-backdrop scene pushed +1.6 EV: the label follows what the frame shows, not the EV.
    spec = sample_spec(_cheap_index(12, "train", background="white"), 12, "train")
    sample = render_spec(dataclasses.replace(spec, defects=(("overexposure", 0.8),)))
    clean = render_scene(dataclasses.replace(spec, defects=()), spec.width, spec.height)
    assert sample.labels.defects == judged_severities(clean.image, {"overexposure": 0.8})
    assert sample.labels.quality == quality_from(sample.labels.defects) > 1 - 0.8


def _cheap_seed(n: int, split: str = "train") -> int:
    """A seed whose first n samples are small and not rooms, so catalog tests stay fast."""
    for seed in range(500):
        ss = [sample_spec(i, seed, split) for i in range(n)]
        if all(s.width * s.height < 2_000_000 and not s.backdrop.startswith("room") for s in ss):
            return seed
    raise AssertionError("no cheap seed")


def test_write_catalog_csv_format(tmp_path):
    seed = _cheap_seed(3)
    path = write_catalog(tmp_path / "cat", 3, seed, "train")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0][:5]) == ("path", "background", "angle", "crop", "quality")
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 4
    for i, row in enumerate(rows[1:]):
        rec = dict(zip(rows[0], row))
        spec = sample_spec(i, seed, "train")
        img = path.parent / rec["path"]
        assert not rec["path"].startswith("/") and img.is_file()
        with Image.open(img) as im:
            assert im.size == (spec.width, spec.height) and im.format == spec.encoding
        assert rec["background"] == judged_background(spec.background, float(rec["backdrop_visible"]))
        assert rec["background"] in (*BACKGROUNDS, "none") and rec["angle"] in ANGLES
        assert rec["crop"] == ("adequate" if spec.crop_ok else "inadequate")
        assert rec["crop_defect"] == (spec.crop_defect or "")
        assert rec["product"] == spec.product and rec["split"] == "train"
        parsed = dict(kv.split("=") for kv in rec["defects"].split(";")) if rec["defects"] else {}
        judged = {k: float(v) for k, v in parsed.items()}
        _judged_follow_nominal(judged, spec.defect_map)
        assert rec["quality"] == f"{quality_from(judged):.3f}" and len(rec["quality"].split(".")[1]) == 3
        if i == 0:
            assert img.read_bytes() == encode(render_sample(i, seed, "train"))


def test_write_catalog_is_independent_of_workers(tmp_path):
    seed = _cheap_seed(2, "heldout_in")
    path = write_catalog(tmp_path / "b", 2, seed, "heldout_in", workers=2)
    rows = list(csv.DictReader(open(path, newline="")))
    for i, rec in enumerate(rows):
        assert (path.parent / rec["path"]).read_bytes() == encode(render_sample(i, seed, "heldout_in"))


def test_bad_split_is_refused():
    with pytest.raises(ValueError):
        sample_spec(0, 0, "test")
    assert math.isfinite(sample_spec(0, -5, "train").yaw)  # any integer seed works


def test_real_photo_backdrops_load_offline():
    from model_build.synth.backdrops import _photo

    photos = {b[len("photo_"):] for pool in BACKDROPS.values() for b in pool.shared + pool.shift_only if b.startswith("photo_")}
    assert len(photos) >= 10
    for name in photos:
        a = _photo(name)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and min(a.shape[:2]) >= 300, name
