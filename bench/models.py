"""Which model the benchmark times: the served INT8 model and the fp32 network behind it.

In order of preference:
1. ``layers/model`` (or ``--model-dir``) when its manifest exists: the committed INT8 model,
   loaded exactly as serving loads it. Its fp32 twin is ``--fp32``, else ``make model``'s export
   at .cache/build/model.fp32.onnx when the manifest's training.fp32_sha256 names it, else the
   INT8 model with its quantisation undone (bench/fp32.py: same graph, fp32 kernels).
2. Before the model is committed: the latest ``make model`` build under .cache/build, given a
   manifest written by model_build's own helpers, so the harness runs on the real network.
3. ``--tiny``: the hand-built fixture from tests/fixtures (for the harness's own test only).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from screener.manifest import sha256_file

from .fp32 import dequantize_model

BUILD = Path(".cache/build")
BENCH_MODEL = Path(".cache/bench/model")
TINY_MODEL = Path(".cache/bench/tiny-model")


@dataclass(frozen=True)
class ModelSet:
    model_dir: Path  # manifest.json + INT8 model.onnx, as serving loads it
    fp32: bytes  # the same network in fp32, for the naive baseline
    source: str  # where the INT8 model came from
    fp32_source: str


def _fp32_for(model_dir: Path, fp32: Path | None) -> tuple[bytes, str]:
    if fp32 is not None:
        return fp32.read_bytes(), str(fp32)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    export = BUILD / "model.fp32.onnx"
    want = manifest.get("training", {}).get("fp32_sha256")
    if export.exists() and want and sha256_file(export) == want:
        return export.read_bytes(), f"{export} (matches the manifest)"
    blob = (model_dir / manifest.get("file", "model.onnx")).read_bytes()
    return dequantize_model(blob), "INT8 model de-quantised (bench/fp32.py)"


def _from_build() -> Path:
    """Serve the latest .cache/build INT8 model under a manifest that model_build would write."""
    from model_build.artifact import category_section, heads_section
    from model_build.input_spec import input_spec, manifest_input

    int8 = BUILD / "model.int8.none.onnx"
    BENCH_MODEL.mkdir(parents=True, exist_ok=True)
    target = BENCH_MODEL / "model.onnx"
    target.write_bytes(int8.read_bytes())
    manifest = {
        "schema": 1, "name": "product-photo-qa", "version": "0.0.0-bench", "file": "model.onnx",
        "sha256": sha256_file(target), "input": manifest_input(input_spec()), "heads": heads_section(),
        "category": category_section(), "thresholds": {},
    }
    (BENCH_MODEL / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return BENCH_MODEL


def _tiny() -> ModelSet:
    from tests.fixtures.tiny_model import build_tiny_model

    d = build_tiny_model(TINY_MODEL)
    return ModelSet(d, (d / "model.onnx").read_bytes(), "tests/fixtures/tiny_model.py", "the same tiny fp32 model")


def resolve(model_dir: Path | None = None, fp32: Path | None = None, tiny: bool = False) -> ModelSet:
    if tiny:
        return _tiny()
    d = model_dir or Path("layers/model")
    if (d / "manifest.json").exists():
        blob, src = _fp32_for(d, fp32)
        return ModelSet(d, blob, str(d), src)
    if model_dir is None and (BUILD / "model.int8.none.onnx").exists() and (BUILD / "model.fp32.onnx").exists():
        d = _from_build()
        f = fp32 or BUILD / "model.fp32.onnx"
        return ModelSet(d, f.read_bytes(), f"{BUILD}/model.int8.none.onnx (uncommitted build)", str(f))
    raise SystemExit(f"no model: {d}/manifest.json is missing and there is no build under {BUILD} (run `make model`)")
