"""Samples and catalogs: render_sample, encode, iter_catalog, write_catalog (images + labels.csv).

labels.csv starts with the retailer's own training format, ``path,background,angle,crop,
quality`` (crop "adequate"/"inadequate", quality with 3 decimals, path relative to the CSV),
followed by analysis columns the trainer ignores.

The background column is ``none`` when the frame shows no backdrop: a detail close-up filled by
the product (see ``judged_background``).
"""
from __future__ import annotations

import csv
import io
import multiprocessing
from pathlib import Path
from typing import Iterator

import numpy as np

from .defects import apply_capture_defects, capture_size, judged_severities, quality_from
from .labels import Sample, SampleLabels
from .partition import BACKGROUND_NOT_SHOWN, check_split
from .render import render_scene
from .scene import SceneSpec, sample_spec

CSV_COLUMNS = ("path", "background", "angle", "crop", "quality",
               "product", "texture", "backdrop", "split", "crop_defect", "defects",
               "width", "height", "yaw", "elevation", "light", "encoding", "jpeg_quality", "backdrop_visible")
PNG_COMPRESS_LEVEL = 6
# Below this share of the frame no backdrop can be judged. On 1.2.0's test sets 75 of 550 photos
# showed less (close-ups filled by the product), and 1.2.0 named their set-up backdrop at chance
# (23 of 75).
BACKDROP_MIN_VISIBLE = 0.02


def judged_background(set_up: str, backdrop_visible: float) -> str:
    """The background label as the frame shows it: the backdrop that was set up, or ``none``
    when the product fills (almost) the whole frame and no backdrop is there to judge."""
    return set_up if backdrop_visible >= BACKDROP_MIN_VISIBLE else BACKGROUND_NOT_SHOWN


def labels_for(spec: SceneSpec, defects: dict[str, float] | None = None, backdrop_visible: float = 1.0) -> SampleLabels:
    """``defects``: the severities judged on the rendered frame (defects.judged_severities);
    None: the spec's nominal ones. ``backdrop_visible``: the share of the rendered frame that
    the product does not cover."""
    defects = spec.defect_map if defects is None else defects
    return SampleLabels(
        background=judged_background(spec.background, backdrop_visible), angle=spec.angle, crop_ok=spec.crop_ok, crop_defect=spec.crop_defect,
        quality=quality_from(defects), defects=defects, product=spec.product, texture=spec.texture,
        backdrop=spec.backdrop, split=spec.split, width=spec.width, height=spec.height, yaw=spec.yaw,
        elevation=spec.elevation, light=spec.light, backdrop_visible=round(backdrop_visible, 4),
    )


def render_spec(spec: SceneSpec) -> Sample:
    defects = spec.defect_map
    w, h = capture_size((spec.width, spec.height), defects)
    clean = render_scene(spec, w, h)
    judged = judged_severities(clean.image, defects)  # the labels: what the frame shows
    visible = 1.0 - float(clean.mask.mean())
    noise_rng = np.random.default_rng(spec.render_seed ^ 0x5EED)
    image = apply_capture_defects(clean.image, defects, (spec.width, spec.height), spec.motion_angle,
                                  spec.upscale_filter, noise_rng)
    return Sample(image=image, labels=labels_for(spec, judged, visible), encoding=spec.encoding, jpeg_quality=spec.jpeg_quality)


def render_sample(index: int, seed: int, split: str) -> Sample:
    return render_spec(sample_spec(index, seed, split))


def encode(sample: Sample) -> bytes:
    """The file a retailer would upload: baseline JPEG at the sample's quality, or PNG."""
    buf = io.BytesIO()
    if sample.encoding == "JPEG":
        sample.image.save(buf, "JPEG", quality=int(sample.jpeg_quality), optimize=False, progressive=False)
    else:
        sample.image.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def iter_catalog(n: int, seed: int, split: str) -> Iterator[Sample]:
    check_split(split)
    for i in range(n):
        yield render_sample(i, seed, split)


def file_name(index: int, split: str, encoding: str) -> str:
    return f"{split}_{index:06d}.{'jpg' if encoding == 'JPEG' else 'png'}"


def csv_row(rel_path: str, lb: SampleLabels, encoding: str, jpeg_quality: int | None) -> list[str]:
    return [
        rel_path, lb.background, lb.angle, "adequate" if lb.crop_ok else "inadequate", f"{lb.quality:.3f}",
        lb.product, lb.texture, lb.backdrop, lb.split, lb.crop_defect or "",
        ";".join(f"{k}={v:.3f}" for k, v in lb.defects.items()),
        str(lb.width), str(lb.height), f"{lb.yaw:.2f}", f"{lb.elevation:.2f}", lb.light, encoding,
        "" if jpeg_quality is None else str(jpeg_quality), f"{lb.backdrop_visible:.4f}",
    ]


def _write_one(args: tuple[int, int, str, str]) -> list[str]:
    index, seed, split, out_dir = args
    sample = render_sample(index, seed, split)
    name = file_name(index, split, sample.encoding)
    (Path(out_dir) / "images" / name).write_bytes(encode(sample))
    return csv_row(f"images/{name}", sample.labels, sample.encoding, sample.jpeg_quality)


def write_catalog(out_dir, n: int, seed: int, split: str, workers: int = 1) -> Path:
    """Render n samples into out_dir/images/ and write out_dir/labels.csv; returns the CSV path.

    Output is identical for any ``workers``: each sample depends only on (index, seed, split)."""
    check_split(split)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(i, seed, split, str(out)) for i in range(n)]
    if workers > 1 and n > 1:
        with multiprocessing.Pool(workers) as pool:  # the platform's default start method
            rows = list(pool.imap(_write_one, jobs, chunksize=4))
    else:
        rows = [_write_one(j) for j in jobs]
    path = out / "labels.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        w.writerows(rows)
    return path
