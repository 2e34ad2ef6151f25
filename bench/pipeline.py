"""Bytes -> verdict on one thread: the pipeline, the naive baseline and the floor, in one run.

- **pipeline**: ``screen_bytes`` exactly as the functions call it (header, rules, reduced-scale
  decode, ``prepare``, INT8 model, policy).
- **naive**: what a first version would do: full decode, ``convert('RGB')``, LANCZOS resize to
  the model's input size, normalise, the fp32 network at batch 1, policy. It computes no quality
  statistics (zeros are fed), which only flatters it.
- **floor**: what no pipeline can beat: the JPEG decoded at the smallest DCT scale that still
  covers the model's input (PNG has no reduced decode: full decode), then the INT8 model alone
  on an input prepared in advance.
- **floor at analysis scale**: the same, but decoded at the scale the manifest's
  ``analysis_size`` asks for (the quality statistics need it). The gap between the two floors is
  the price of the high-resolution quality check's decode; the gap between this floor and the
  pipeline is everything else the pipeline does (resize, statistics, policy, Python).

All run in interleaved rounds on the same bytes with the same ORT thread settings (one thread);
figures are medians over rounds and ratios are medians of per-round ratios.

Two clocks. Every stage runs on the calling thread (ORT at one intra-op thread runs inline, and
nothing here calls BLAS), so the thread's CPU time is the work itself: what one Lambda vCPU
would spend and bill, and nearly immune to the other processes sharing this machine, which
stretch wall time by 2-4x at random. CPU time is the primary figure and the one the ratios use;
wall time is printed beside it for context.
"""
from __future__ import annotations

import io
import statistics
import struct
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

from screener.classifier import Classifier
from screener.config import Config
from screener.decode import decode_rgb, read_header
from screener.policy import decide
from screener.preprocess import ModelInput, prepare
from screener.rules import check_header
from screener.screening import screen_bytes

from .images import Photo

STAGES = ("decode", "preprocess", "infer", "policy")


@dataclass(frozen=True)
class PipelineFigures:
    """Thread CPU ms per photo (medians), ratios of CPU time, and wall ms for context."""

    photo: Photo
    pipeline_ms: float
    naive_ms: float
    floor_ms: float
    floor_analysis_ms: float
    naive_ratio: float  # naive / pipeline: how many times faster the pipeline is
    floor_ratio: float  # pipeline / floor: how close to the floor
    floor_analysis_ratio: float  # pipeline / floor at analysis scale
    stages_ms: dict[str, float]  # median per stage
    bare_decode_ms: float  # Image.open + draft to analysis_size + load alone, in the stage rounds
    decode_overhead_ms: float  # median per round of (decode stage - bare decode): header, rules, EXIF, RGB
    wall_ms: dict[str, float]  # pipeline, naive, floor, floor_analysis
    naive_ratio_wall: float
    verdict: str


def _per_call_ms(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """(thread CPU ms, wall ms) per call."""
    c0, t0 = time.thread_time(), time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.thread_time() - c0) * 1000.0 / reps, (time.perf_counter() - t0) * 1000.0 / reps


class Naive:
    """Full decode, convert('RGB'), LANCZOS, fp32 network; the manifest's normalisation."""

    def __init__(self, fp32: Classifier, config: Config):
        self.clf = fp32
        spec = fp32.manifest.input
        self.size = spec.size
        self.mean = np.asarray(spec.mean, np.float32) * 255.0
        self.std = np.asarray(spec.std, np.float32) * 255.0
        n = len(spec.quality_features.names) if spec.quality_features else 0
        self.zeros = np.zeros((1, n), np.float32)
        self.policy = config.policy_for(fp32.manifest)

    def __call__(self, data: bytes) -> str:
        im = Image.open(io.BytesIO(data)).convert("RGB")
        small = im.resize((self.size, self.size), Image.Resampling.LANCZOS)
        x = ((np.asarray(small, np.float32) - self.mean) / self.std).transpose(2, 0, 1)[None]
        scores = self.clf.predict(ModelInput(np.ascontiguousarray(x), self.zeros))
        return decide(scores, [], self.policy).verdict.value


class Floor:
    """Reduced-scale decode of the file plus the INT8 model on a ready input: nothing else."""

    def __init__(self, int8: Classifier, x: ModelInput, min_side: int):
        self.clf, self.x, self.size = int8, x, min_side

    def __call__(self, data: bytes) -> None:
        im = Image.open(io.BytesIO(data))
        if im.format == "JPEG":
            im.draft("RGB", (self.size, self.size))
        im.load()
        self.clf.predict(self.x)


def bare_decode(data: bytes, min_side: int) -> None:
    """The decode stage's irreducible part: what Floor decodes, without the model."""
    im = Image.open(io.BytesIO(data))
    if im.format == "JPEG":
        im.draft("RGB", (min_side, min_side))
    im.load()


def stage_times(data: bytes, clf: Classifier, config: Config) -> tuple[dict[str, float], str]:
    """One photo through the pipeline's stages, thread CPU ms each (header and rules count as decode)."""
    manifest = clf.manifest
    policy = config.policy_for(manifest)
    t0 = time.thread_time()
    im, header = read_header(data)
    rules = check_header(header, config.limits, manifest.input.analysis_size)
    rgb = decode_rgb(im, manifest.input.analysis_size)
    t1 = time.thread_time()
    x = prepare(rgb, header, manifest.input)
    t2 = time.thread_time()
    scores = clf.predict(x)
    t3 = time.thread_time()
    decision = decide(scores, rules.reasons, policy)
    t4 = time.thread_time()
    ms = [(b - a) * 1000.0 for a, b in ((t0, t1), (t1, t2), (t2, t3), (t3, t4))]
    return dict(zip(STAGES, ms)), decision.verdict.value


def measure(photo: Photo, int8: Classifier, fp32: Classifier, config: Config, rounds: int, reps: int) -> PipelineFigures:
    data = photo.data
    im, header = read_header(data)
    ready = prepare(decode_rgb(im, int8.manifest.input.analysis_size), header, int8.manifest.input)
    spec = int8.manifest.input
    naive = Naive(fp32, config)
    floor, floor_a = Floor(int8, ready, spec.size), Floor(int8, ready, spec.analysis_size)
    variants = {"p": lambda: screen_bytes(data, int8, config), "n": lambda: naive(data),
                "f": lambda: floor(data), "a": lambda: floor_a(data)}
    for fn in variants.values():
        fn()  # warm: first-run allocations and ORT's lazy initialisation are not throughput
    got: dict[str, list[float]] = {k: [] for k in variants}
    wall: dict[str, list[float]] = {k: [] for k in variants}
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    bare: list[float] = []  # paired with stages["decode"], round by round
    verdict = ""
    for r in range(rounds):
        # Rotate the order each round so no variant always runs first after a context switch.
        order = list(variants)
        order = order[r % len(order):] + order[: r % len(order)]
        for k in order:
            cpu, w = _per_call_ms(variants[k], reps)
            got[k].append(cpu)
            wall[k].append(w)
        for _ in range(reps):
            # The bare decode beside the staged one, order alternating: the decode stage's
            # overhead is then a same-round difference, not two figures from different moments.
            if r % 2:
                bare.append(_per_call_ms(lambda: bare_decode(data, spec.analysis_size), 1)[0])
            st, verdict = stage_times(data, int8, config)
            if not r % 2:
                bare.append(_per_call_ms(lambda: bare_decode(data, spec.analysis_size), 1)[0])
            for k, v in st.items():
                stages[k].append(v)
    med = statistics.median
    ratio = lambda a, b, t=got: med(x / y for x, y in zip(t[a], t[b]))  # noqa: E731 - per-round ratios
    names = {"p": "pipeline", "n": "naive", "f": "floor", "a": "floor_analysis"}
    return PipelineFigures(
        photo=photo, pipeline_ms=med(got["p"]), naive_ms=med(got["n"]), floor_ms=med(got["f"]),
        floor_analysis_ms=med(got["a"]), naive_ratio=ratio("n", "p"), floor_ratio=ratio("p", "f"),
        floor_analysis_ratio=ratio("p", "a"), stages_ms={k: med(v) for k, v in stages.items()},
        bare_decode_ms=med(bare), decode_overhead_ms=med(d - b for d, b in zip(stages["decode"], bare)),
        wall_ms={names[k]: med(v) for k, v in wall.items()}, naive_ratio_wall=ratio("n", "p", wall), verdict=verdict,
    )


def decode_scales(photo: Photo, rounds: int, reps: int) -> dict[str, float]:
    """Median thread CPU ms to decode the JPEG alone at each DCT scale (interleaved rounds)."""
    def decode(scale: int) -> None:
        im = Image.open(io.BytesIO(photo.data))
        if scale > 1:
            im.draft("RGB", (im.width // scale, im.height // scale))
        im.load()

    times: dict[str, list[float]] = {f"1/{s}": [] for s in (8, 4, 2, 1)}
    for _ in range(rounds):
        for s in (8, 4, 2, 1):
            times[f"1/{s}"].append(_per_call_ms(lambda: decode(s), reps)[0])
    return {k: statistics.median(v) for k, v in times.items()}


@dataclass(frozen=True)
class ColourFigures:
    """Thread CPU ms: the same JPEG without and with an embedded (non-sRGB) colour profile."""

    plain_ms: float
    profiled_ms: float
    extra_ms: float  # median per-round difference
    first_extra_ms: float  # the process's first profiled photo: ImageCms imported, transform built


def with_icc(jpeg: bytes, icc: bytes) -> bytes:
    """The same JPEG with ``icc`` in an APP2 segment after SOI, as cameras and editors write it:
    the entropy-coded data is untouched, so any time difference is the profile's."""
    assert jpeg[:2] == b"\xff\xd8" and len(icc) <= 65519, "one APP2 segment, after SOI"
    body = b"ICC_PROFILE\0" + bytes([1, 1]) + icc  # chunk 1 of 1
    return jpeg[:2] + b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def _paired(fa: Callable[[], object], fb: Callable[[], object], rounds: int) -> tuple[list[float], list[float]]:
    """Thread CPU ms of one call each of ``fa`` and ``fb`` per round, the order alternating."""
    a: list[float] = []
    b: list[float] = []
    for r in range(rounds):
        for k in ((0, 1) if r % 2 else (1, 0)):
            (a if k == 0 else b).append(_per_call_ms(fa if k == 0 else fb, 1)[0])
    return a, b


def colour_cost(photo: Photo, clf: Classifier, config: Config, icc: bytes, rounds: int) -> ColourFigures:
    plain, profiled = photo.data, with_icc(photo.data, icc)
    assert read_header(profiled)[1].icc_profile == icc
    screen_bytes(plain, clf, config)
    base = _per_call_ms(lambda: screen_bytes(plain, clf, config), 1)[0]
    first = _per_call_ms(lambda: screen_bytes(profiled, clf, config), 1)[0] - base
    a, b = _paired(lambda: screen_bytes(plain, clf, config), lambda: screen_bytes(profiled, clf, config), rounds)
    med = statistics.median
    return ColourFigures(med(a), med(b), med(y - x for x, y in zip(a, b)), first)


@dataclass(frozen=True)
class ProgressiveFigures:
    """Thread CPU ms: the same photo saved baseline and progressive, each re-encoded from the
    original with its own quantisation tables and subsampling, so only the scan layout differs."""

    baseline_mb: float
    progressive_mb: float
    baseline_ms: float  # screen_bytes
    progressive_ms: float
    ratio: float  # median per-round progressive / baseline
    baseline_decode_ms: float  # bare decode to the analysis size
    progressive_decode_ms: float


def progressive_cost(photo: Photo, clf: Classifier, config: Config, rounds: int) -> ProgressiveFigures:
    """Web exports are often progressive. libjpeg must entropy-decode every scan of a progressive
    JPEG into a whole-image coefficient buffer before any row comes out, so DCT scaling saves
    only the inverse DCT: the decode stage, not the model, is what such a photo costs."""
    def encode(**kw: object) -> bytes:
        src = Image.open(io.BytesIO(photo.data))
        buf = io.BytesIO()
        src.save(buf, "JPEG", quality="keep", **kw)
        return buf.getvalue()

    base, prog = encode(), encode(progressive=True)
    assert not read_header(base)[1].progressive and read_header(prog)[1].progressive
    side = clf.manifest.input.analysis_size
    for d in (base, prog):
        screen_bytes(d, clf, config)  # warm
    a, b = _paired(lambda: screen_bytes(base, clf, config), lambda: screen_bytes(prog, clf, config), rounds)
    da, db = _paired(lambda: bare_decode(base, side), lambda: bare_decode(prog, side), rounds)
    med = statistics.median
    return ProgressiveFigures(len(base) / 1e6, len(prog) / 1e6, med(a), med(b), med(y / x for x, y in zip(a, b)),
                              med(da), med(db))
