"""Built-in synthetic labelled catalog of home-furnishings product photos.

Shaded 3D furniture (composed primitives with procedural materials) on white studio sweeps,
rooms, real photographs and coloured/patterned backdrops, at catalog resolution, with graded
photographic defects, deterministically from (index, seed, split). See partition.py for the
split partition, scene.py for the label rules and defects.py for the severity scales.
"""
from .catalog import CSV_COLUMNS, encode, iter_catalog, labels_for, render_sample, render_spec, write_catalog
from .labels import Sample, SampleLabels
from .partition import ANGLES, BACKGROUNDS, CROP_DEFECTS, DEFECTS, SPLITS, is_shift_only
from .scene import SceneSpec, sample_spec

__all__ = [
    "ANGLES", "BACKGROUNDS", "CROP_DEFECTS", "CSV_COLUMNS", "DEFECTS", "SPLITS", "Sample", "SampleLabels",
    "SceneSpec", "encode", "is_shift_only", "iter_catalog", "labels_for", "render_sample", "render_spec",
    "sample_spec", "write_catalog",
]
