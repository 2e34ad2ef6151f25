"""Frozen-backbone features, computed once per image and cached on disk.

On 2 CPU cores the backbone forward pass is the expensive part of training, and it never
changes while the backbone is frozen: each image goes bytes -> serving preprocessing ->
EfficientNet-Lite0 up to its last block once, and the heads train on the cached 320x7x7 maps.

A cache entry is keyed by everything that determines its contents: the items (synthetic split,
seed and indices, or the files' sha256), the number of augmented views, the input spec, and the
code of the backbone, the preprocessing and (for synthetic items) the generator (comments and
docstrings aside: source_fingerprint.py). Change any of them and the entry is simply not found.
Entries live under ``.cache/features/`` (gitignored).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from screener.manifest import InputSpec

from .dataset import Labels, augmented_inputs, labels_array
from .efficientnet_lite import EfficientNetLite0, load_pretrained
from .manifest_csv import Row
from .source_fingerprint import code_digest
from .synthetic import SynthItem, generator_version, render

DEFAULT_CACHE = Path(os.environ.get("MODEL_BUILD_CACHE", ".cache")) / "features"
_SOURCES = ("efficientnet_lite.py", "dataset.py", "features_cache.py", "input_spec.py")


@dataclass
class FeatureSet:
    """Cached features of N items with V views each (view 0 = exactly as served)."""

    maps: np.ndarray  # (N, V, 320, 7, 7) float16: output of the backbone's last block (of block upto_block: fewer channels)
    quality: np.ndarray  # (N, V, 11) float32: quality statistics from prepare()
    labels: np.ndarray  # (N, 4) float32: background, angle, crop_ok, quality
    pixels: np.ndarray | None  # (N, 3, 224, 224) float32 model input of view 0, when kept
    meta: list[dict]
    # (N, V, C, 7, 7) float16: the same views' maps from the INT8 backbone (int8_backbone.py), when asked for
    maps_int8: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "FeatureSet":
        return FeatureSet(
            self.maps[idx], self.quality[idx], self.labels[idx],
            None if self.pixels is None else self.pixels[idx], [self.meta[i] for i in idx],
            None if self.maps_int8 is None else self.maps_int8[idx],
        )


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    """Digest of the code the cached features come from; once per process, as generator_version
    is (parsing the sources takes ~50 ms, and every chunk's cache key asks for it)."""
    import screener.decode
    import screener.frame_stats
    import screener.preprocess

    here = Path(__file__).parent
    mods = (screener.decode, screener.frame_stats, screener.preprocess)
    return code_digest([(name, here / name) for name in _SOURCES] + [(m.__name__, Path(m.__file__)) for m in mods])


def cache_key(item_ids: Sequence[str], views: int, spec: InputSpec, keep_pixels: bool, extra: str = "") -> str:
    h = hashlib.sha256()
    h.update(json.dumps([asdict(spec), views, keep_pixels, _code_version(), extra], default=str).encode())
    for i in item_ids:
        h.update(i.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


# ---- worker side -------------------------------------------------------------------------------

_backbone: EfficientNetLite0 | None = None
_int8 = None  # onnxruntime session of the INT8 backbone, when its maps are asked for


def _init_worker(int8_backbone: bytes | None = None) -> None:
    global _backbone, _int8
    torch.set_num_threads(1)  # one process per core; intra-op threads would oversubscribe
    _backbone = load_pretrained()
    _int8 = None
    if int8_backbone is not None:
        import onnxruntime as ort

        from screener.classifier import session_options

        # Serving's session options: the same kernels, so the same maps as the shipped model.
        _int8 = ort.InferenceSession(int8_backbone, sess_options=session_options(1), providers=["CPUExecutionProvider"])


def _item_bytes(item: SynthItem | Row) -> tuple[bytes, Labels, dict]:
    if isinstance(item, SynthItem):
        return render(item)
    from .storage import read_bytes

    return read_bytes(item.uri), item.labels, {"row": item.row, "uri": item.uri}


def _extract(args) -> tuple:
    item, views, spec, keep_pixels, seed, upto_block = args
    data, labels, meta = _item_bytes(item)
    inputs = augmented_inputs(data, spec, views, seed)
    px = torch.from_numpy(np.concatenate([x.pixels for x in inputs]))
    with torch.no_grad():
        depth = len(_backbone._blocks) if upto_block is None else upto_block
        maps = _backbone.features(px, upto_block=depth).numpy().astype(np.float16)
    maps8 = None
    if _int8 is not None:
        maps8 = _int8.run(None, {_int8.get_inputs()[0].name: px.numpy()})[0].astype(np.float16)
        if maps8.shape != maps.shape:
            raise ValueError(f"the INT8 backbone gives maps of shape {maps8.shape}, the cached block {maps.shape}")
    quality = np.concatenate([x.quality for x in inputs])
    pixels = inputs[0].pixels[0] if keep_pixels else None
    return maps, quality, labels, pixels, meta, maps8


def _item_seed(item_id: str) -> int:
    return zlib.crc32(item_id.encode())


# ---- parent side -------------------------------------------------------------------------------


def _item_id(item: SynthItem | Row) -> str:
    if isinstance(item, SynthItem):
        return f"synth:{item.split}:{item.seed}:{item.index}"
    return f"file:{item.sha256 or item.uri}:{item.labels}"


class Progress:
    """Prints 'label: done/total, rate, ETA' at most every few seconds."""

    def __init__(self, label: str, total: int, every_s: float = 5.0, out=sys.stdout):
        self.label, self.total, self.every, self.out = label, total, every_s, out
        self.t0 = self.last = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if done < self.total and now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-6)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        print(f"  {self.label}: {done}/{self.total}  {rate:.1f}/s  elapsed {now - self.t0:.0f}s  ETA {eta:.0f}s",
              file=self.out, flush=True)


CHUNK = 100  # items per cache file: growing a set reuses the chunks already computed


def extract(
    items: Sequence[SynthItem | Row],
    spec: InputSpec,
    views: int = 1,
    keep_pixels: bool = False,
    workers: int = 2,
    cache_dir: Path | None = DEFAULT_CACHE,
    label: str = "features",
    log: Callable[[str], None] = print,
    upto_block: int | None = None,
    int8_backbone: bytes | None = None,
) -> FeatureSet:
    """Features for ``items``: cached chunks are loaded, the rest computed in ``workers`` processes.

    ``upto_block``: cache the output of the first ``upto_block`` blocks instead of all of them
    (what the block-15 copy reads). ``int8_backbone``: also cache each view's maps from this ONNX
    model (int8_backbone.py), which must end where ``upto_block`` does."""
    ids = [_item_id(it) for it in items]
    extra = generator_version() if any(isinstance(it, SynthItem) for it in items) else ""
    if upto_block is not None:
        extra += f"|upto_block={upto_block}"
    if int8_backbone is not None:
        extra += f"|int8_backbone={hashlib.sha256(int8_backbone).hexdigest()}"
    chunks = []
    for s in range(0, len(items), CHUNK):
        key = cache_key(ids[s : s + CHUNK], views, spec, keep_pixels, extra)
        path = None if cache_dir is None else Path(cache_dir) / f"{label}-{key}.npz"
        chunks.append((s, path))
    todo = [(s, p) for s, p in chunks if p is None or not p.exists()]
    n_todo = sum(min(CHUNK, len(items) - s) for s, _ in todo)
    log(f"{label}: {len(items)} items x {views} view(s); {len(items) - n_todo} cached, computing {n_todo} "
        f"with {workers} worker(s)")
    parts: dict[int, FeatureSet] = {s: load(p) for s, p in chunks if (s, p) not in todo}
    if todo:
        prog = Progress(label, n_todo)
        done = 0
        pool = get_context("fork").Pool(workers, initializer=_init_worker, initargs=(int8_backbone,)) if workers > 1 else None
        if pool is None:
            _init_worker(int8_backbone)
        try:
            for s, path in todo:
                jobs = [(it, views, spec, keep_pixels, _item_seed(i), upto_block) for it, i in zip(items[s : s + CHUNK], ids[s : s + CHUNK])]
                results = []
                # fork: workers inherit the imported modules; each loads the backbone once.
                for r in (pool.imap(_extract, jobs, chunksize=2) if pool else map(_extract, jobs)):
                    results.append(r)
                    done += 1
                    prog.update(done)
                fs = _assemble(results, keep_pixels)
                if path is not None:
                    save(fs, path)
                parts[s] = fs
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    return concat([parts[s] for s, _ in chunks], keep_pixels)


def _assemble(results: list[tuple], keep_pixels: bool) -> FeatureSet:
    return FeatureSet(
        maps=np.stack([r[0] for r in results]),
        quality=np.stack([r[1] for r in results]).astype(np.float32),
        labels=labels_array([r[2] for r in results]),
        pixels=np.stack([r[3] for r in results]) if keep_pixels else None,
        meta=[r[4] for r in results],
        maps_int8=np.stack([r[5] for r in results]) if results[0][5] is not None else None,
    )


def concat(parts: list[FeatureSet], keep_pixels: bool) -> FeatureSet:
    return FeatureSet(
        maps=np.concatenate([p.maps for p in parts]),
        quality=np.concatenate([p.quality for p in parts]),
        labels=np.concatenate([p.labels for p in parts]),
        pixels=np.concatenate([p.pixels for p in parts]) if keep_pixels else None,
        meta=[m for p in parts for m in p.meta],
        maps_int8=np.concatenate([p.maps_int8 for p in parts]) if parts and all(p.maps_int8 is not None for p in parts) else None,
    )


def save(fs: FeatureSet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    arrays = {"maps": fs.maps, "quality": fs.quality, "labels": fs.labels,
              "meta": np.frombuffer(json.dumps(fs.meta).encode(), dtype=np.uint8)}
    if fs.pixels is not None:
        arrays["pixels"] = fs.pixels
    if fs.maps_int8 is not None:
        arrays["maps_int8"] = fs.maps_int8
    np.savez(tmp, **arrays)  # uncompressed: float features barely compress, and loading stays fast
    tmp.replace(path)


def load(path: Path) -> FeatureSet:
    with np.load(path) as z:
        return FeatureSet(
            maps=z["maps"], quality=z["quality"], labels=z["labels"],
            pixels=z["pixels"] if "pixels" in z.files else None,
            meta=json.loads(z["meta"].tobytes().decode()),
            maps_int8=z["maps_int8"] if "maps_int8" in z.files else None,
        )
