"""Glue to the synthetic catalog generator (``model_build.synth``): one labelled upload per index.

Samples are rendered and encoded in memory (no image files on disk): the encoded bytes are what
a photographer would upload, and they then take the serving decode path like any other file.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .dataset import Labels
from .source_fingerprint import code_digest

SPLITS = ("train", "heldout_in", "heldout_shift")


@dataclass(frozen=True)
class SynthItem:
    split: str
    seed: int
    index: int


@functools.lru_cache(maxsize=1)
def generator_version() -> str:
    """Digest of the generator's code: the cache key changes whenever the generator does (and
    not when only its comments or docstrings do; see source_fingerprint.py).

    Computed once per process, when the generator is first imported, so the hash describes the
    code actually running even if the files change while a long build is under way."""
    import model_build.synth as synth

    root = Path(synth.__file__).parent
    return code_digest((p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*.py")))


def labels_of(sample) -> Labels:
    lb = sample.labels
    return Labels.from_names(lb.background, lb.angle, bool(lb.crop_ok), float(lb.quality), dict(lb.defects))


def meta_of(sample) -> dict:
    """What the sample shows, kept beside the features for per-slice error analysis."""
    lb = sample.labels
    return {
        "product": str(getattr(lb, "product", "")),
        "texture": str(getattr(lb, "texture", "")),
        "backdrop": str(getattr(lb, "backdrop", "")),
        "crop_defect": str(getattr(lb, "crop_defect", "") or ""),
        "encoding": str(getattr(sample, "encoding", "")),
        "backdrop_visible": float(getattr(lb, "backdrop_visible", 1.0)),
    }


def render(item: SynthItem) -> tuple[bytes, Labels, dict]:
    from model_build.synth import encode, render_sample

    sample = render_sample(item.index, item.seed, item.split)
    return encode(sample), labels_of(sample), meta_of(sample)
