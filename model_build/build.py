"""``build-default``, ``train`` and ``evaluate``: the commands behind ``python -m model_build``."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from screener.manifest import InputSpec, load_manifest, sha256_file

from .evaluate import evaluate_sets, intervals, latency_ms, real_photo_sanity, summarise, targets_table, write_report
from .features_cache import DEFAULT_CACHE, FeatureSet, extract
from .input_spec import DEFAULT_QUALITY_FEATURES, input_spec
from .manifest_csv import read_manifest
from .pipeline import PackageConfig, package
from .serving_graph import separate_shared_weights, space_to_depth_stem
from .synthetic import SynthItem
from .train import TrainConfig, cached_blocks

# 1.7.1 is 1.7.0 with its stem rewritten (serving_graph.space_to_depth_stem): the same outputs bit
# for bit; a build from this source writes that graph itself.
DEFAULT_VERSION = "1.7.1"


@dataclass
class SynthPlan:
    """The synthetic catalog the default model is built and evaluated on (all seeded)."""

    seed: int = 20261129
    # 3000 since 1.6.0: on validation, each doubling of the training photos (375 -> 750 -> 1500
    # -> 3000) still raised angle accuracy and quality AUC. Rendering (~0.5 s of one core per
    # training photo with its views) and the heads (time grows with photos x epochs) fill most
    # of the 30-minute budget on 2 cores; extra augmented views cost only a backbone pass each.
    n_train: int = 3000
    # 500: the approval thresholds are chosen here at <= 1 % false-approve, and with ~180
    # non-compliant photos in 250 that was 2 photos, too few for thresholds to carry over.
    n_val: int = 500
    n_test: int = 250
    # 600 since 1.6.0 (300 before): the targets are read on this set, and at 300 one photo was
    # 0.5 point of false-approve; the first 300 are the photos the earlier models were scored on.
    n_shift: int = 600
    views: int = 3

    def sets(self) -> dict[str, tuple[str, int, int]]:
        """name -> (generator split, seed, count). Validation and tests never share a seed."""
        return {
            "train": ("train", self.seed, self.n_train),
            "validation": ("heldout_in", self.seed + 1, self.n_val),
            "heldout_in": ("heldout_in", self.seed + 2, self.n_test),
            "heldout_shift": ("heldout_shift", self.seed + 3, self.n_shift),
        }


def synth_sets(plan: SynthPlan, workers: int, cache_dir: Path | None, log: Callable[[str], None],
               only: tuple[str, ...] | None = None, spec: InputSpec | None = None,
               upto_block: int | None = None, int8_backbone: bytes | None = None) -> dict[str, FeatureSet]:
    """``upto_block``: which backbone block's output to cache (train.cached_blocks);
    ``int8_backbone``: the INT8 backbone whose maps the training set caches too."""
    spec = spec or input_spec()
    out = {}
    for name, (split, seed, n) in plan.sets().items():
        if only and name not in only:
            continue
        items = [SynthItem(split, seed, i) for i in range(n)]
        views = plan.views if name == "train" else 1
        out[name] = extract(items, spec, views=views, keep_pixels=name != "train", workers=workers,
                            cache_dir=cache_dir, label=name, log=log, upto_block=upto_block,
                            int8_backbone=int8_backbone if name == "train" else None)
    return out


# The sets beside the training set: validation (thresholds, calibration) and the two test sets.
HELD_OUT_SETS = ("validation", "heldout_in", "heldout_shift")


def default_sets(plan: SynthPlan, workers: int, cache_dir: Path | None, log: Callable[[str], None],
                 spec: InputSpec, train_cfg: TrainConfig) -> tuple[dict[str, FeatureSet], dict]:
    """The four sets ``build_default`` trains, calibrates and scores on (the experiments that
    retrain heads read the same cache through this), and the INT8 backbone's record for the
    manifest. Validation first: it calibrates the INT8 backbone whose maps the training set caches."""
    depth = cached_blocks(train_cfg.adapt)
    sets = synth_sets(plan, workers, cache_dir, log, only=HELD_OUT_SETS, spec=spec, upto_block=depth)
    int8, int8_info = _int8_backbone(sets["validation"], train_cfg, log)
    sets.update(synth_sets(plan, workers, cache_dir, log, only=("train",), spec=spec, upto_block=depth, int8_backbone=int8))
    return sets, int8_info


def build_default(
    out_dir: Path = Path("layers/model"), plan: SynthPlan = SynthPlan(), train_cfg: TrainConfig = TrainConfig(),
    workers: int = 2, cache_dir: Path | None = DEFAULT_CACHE, version: str = DEFAULT_VERSION,
    work_dir: Path = Path(".cache/build"), latency_runs: int = 200, log: Callable[[str], None] = print,
    quality_features: int = DEFAULT_QUALITY_FEATURES,
) -> dict:
    t0 = time.monotonic()
    spec = input_spec(quality_features=quality_features)
    sets, int8_info = default_sets(plan, workers, cache_dir, log, spec, train_cfg)
    t_data = time.monotonic() - t0
    log(f"data ready in {t_data:.0f}s")
    info = {
        "data": "synthetic catalog (model_build.synth)",
        "synthetic": {name: {"split": s, "seed": seed, "n": n} for name, (s, seed, n) in plan.sets().items()},
        "val_source": "generator split heldout_in, its own seed",
        "feature_extraction_s": round(t_data, 1),
        **int8_info,
    }
    cfg = PackageConfig(version=version, train=train_cfg, work_dir=work_dir, latency_runs=latency_runs)
    res = package(sets["train"], sets["validation"], {k: sets[k] for k in ("heldout_in", "heldout_shift")},
                  out_dir, spec, cfg, info, log=log)
    total = time.monotonic() - t0
    _amend_manifest(out_dir, {"build_wall_s": round(total, 1)})
    log(f"build-default finished in {total / 60:.1f} min")
    return res


def _int8_backbone(val: FeatureSet, cfg: TrainConfig, log: Callable[[str], None]) -> tuple[bytes | None, dict]:
    """The INT8 backbone the heads train on (int8_backbone.py), when the recipe asks for it."""
    if not cfg.int8_share or len(val) == 0:
        return None, {}
    from .int8_backbone import int8_backbone

    t0 = time.monotonic()
    blob = int8_backbone(val, cfg, log)
    return blob, {"int8_backbone": {"sha256": hashlib.sha256(blob).hexdigest(), "seconds": round(time.monotonic() - t0, 1)}}


def _amend_manifest(out_dir: Path, training_extra: dict) -> None:
    """Add figures known only at the very end to the manifest's training section (sha unaffected)."""
    p = out_dir / "manifest.json"
    m = json.loads(p.read_text())
    m["training"].update(training_extra)
    p.write_text(json.dumps(m, indent=2, default=float) + "\n")
    load_manifest(out_dir)


def train_from_csv(
    csv_path: Path, out_dir: Path, train_cfg: TrainConfig = TrainConfig(), workers: int = 2, val_fraction: float = 0.15,
    views: int = 2, cache_dir: Path | None = DEFAULT_CACHE, version: str = "0.1.0", seed: int = 0,
    package_overrides: dict | None = None, log: Callable[[str], None] = print,
    quality_features: int = DEFAULT_QUALITY_FEATURES,
) -> dict:
    """Train on a retailer's labelled CSV. Rows are validated up front (all problems reported)."""
    t0 = time.monotonic()
    rows = read_manifest(csv_path)
    log(f"{csv_path}: {len(rows)} rows valid")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    n_val = max(1, int(round(val_fraction * len(rows)))) if len(rows) > 1 else 0
    val_rows = [rows[i] for i in sorted(order[:n_val])]
    train_rows = [rows[i] for i in sorted(order[n_val:])] or val_rows
    spec = input_spec(quality_features=quality_features)
    depth = cached_blocks(train_cfg.adapt)
    val = extract(val_rows, spec, views=1, keep_pixels=True, workers=workers, cache_dir=cache_dir, label="validation",
                  log=log, upto_block=depth)
    int8, int8_info = _int8_backbone(val, train_cfg, log)
    train = extract(train_rows, spec, views=views, workers=workers, cache_dir=cache_dir, label="train", log=log,
                    upto_block=depth, int8_backbone=int8)
    info = {"data": f"CSV manifest {csv_path}", "rows": len(rows), "val_source": f"{n_val} rows held out at random (seed {seed})",
            **int8_info}
    cfg = PackageConfig(version=version, train=train_cfg, work_dir=out_dir.parent / (out_dir.name + ".work"),
                        **(package_overrides or {}))
    res = package(train, val, {"validation": val}, out_dir, spec, cfg, info, log=log)
    _amend_manifest(out_dir, {"build_wall_s": round(time.monotonic() - t0, 1)})
    return res


def built_sets(model_dir: Path, raw: dict, spec: InputSpec, only: tuple[str, ...], workers: int,
               cache_dir: Path | None, log: Callable[[str], None]) -> dict[str, FeatureSet]:
    """The synthetic sets a build-default model was built with, regenerated from its manifest
    (``raw``), with the model's own input contract (its quality-feature version included), not
    today's default, and the maps its build cached (its adaptation), so they come from the cache."""
    synth = raw.get("training", {}).get("synthetic")
    if not synth:
        raise SystemExit(f"{model_dir}: not built from the synthetic catalog; no photos to regenerate")
    plan = SynthPlan(seed=synth["train"]["seed"], n_train=synth["train"]["n"], n_val=synth["validation"]["n"],
                     n_test=synth["heldout_in"]["n"], n_shift=synth["heldout_shift"]["n"])
    built_with = TrainConfig.from_manifest(raw["training"].get("config", {}))
    return synth_sets(plan, workers, cache_dir, log, only=only, spec=spec, upto_block=cached_blocks(built_with.adapt))


def evaluate_model(
    model_dir: Path = Path("layers/model"), out: Path = Path("report"), workers: int = 2,
    cache_dir: Path | None = DEFAULT_CACHE, fp32_path: Path = Path(".cache/build/model.fp32.onnx"),
    latency_runs: int = 300, log: Callable[[str], None] = print,
) -> dict:
    """The full report for a model directory built by build-default (test sets regenerated by seed)."""
    manifest, blob = load_manifest(model_dir)
    raw = json.loads((model_dir / "manifest.json").read_text())
    training = raw.get("training", {})
    sets = built_sets(model_dir, raw, manifest.input, ("heldout_in", "heldout_shift"), workers, cache_dir, log)
    fp32 = None
    if fp32_path.exists() and sha256_file(fp32_path) == training.get("fp32_sha256"):
        fp32 = fp32_path
    else:
        log(f"no matching fp32 model at {fp32_path} (run `make model`): reporting INT8 only")
    thresholds = dict(manifest.thresholds)
    res = evaluate_sets(blob, fp32, sets, thresholds)
    first = sets["heldout_shift"]
    lat = {"int8": latency_ms(blob, first.pixels[:20], np.ascontiguousarray(first.quality[:20, 0]), runs=latency_runs)}
    if fp32 is not None:
        lat["fp32"] = latency_ms(fp32.read_bytes(), first.pixels[:20], np.ascontiguousarray(first.quality[:20, 0]), runs=latency_runs // 3)
    summary = summarise(res, lat["int8"])
    result = {
        "model_id": manifest.model_id,
        "note": "INT8 = the shipped model.onnx; fp32 = the same network before quantisation. "
                "heldout_in: the training distribution, unseen images; heldout_shift: product kinds, textures and "
                "backdrops that training never saw.",
        "summary": summary,
        "targets": targets_table(summary, intervals(res)),
        "thresholds": thresholds,
        "operating_point": dict(manifest.operating_point),
        "sets": res,
        "latency_ms": lat,
        "quantization": manifest.evaluation.get("quantization", {}),
        "real_photos": real_photo_sanity(model_dir),
    }
    write_report(out, result)
    log(f"report written to {out}/index.html")
    for t in result["targets"]:
        ci = f"  95 % interval {t['ci95'][0]:.4f}-{t['ci95'][1]:.4f}" if "ci95" in t else ""
        log(f"  {t['figure']:<18} {t['measured']:.4f}  target {t['target']:<8} {'met' if t['met'] else 'MISSED'}{ci}")
    return result


# Rewrites of a built model's serving graph (serving_graph.py) that a build now applies itself:
# command name -> (the rewrite, the manifest's serving_graph key it records under).
GRAPH_REWRITES = {
    "separate-weights": (separate_shared_weights, "separated"),
    "space-to-depth-stem": (space_to_depth_stem, "stem"),
}


def rewrite_graph(model_dir: Path, rewrite: str, version: str, workers: int = 2, cache_dir: Path | None = DEFAULT_CACHE,
                  check_photos: int = 64, log: Callable[[str], None] = print) -> dict:
    """Give a model built before one of ``GRAPH_REWRITES`` existed that rewrite, in place, under a
    new version: the same weights and thresholds. The rewrite checks its own promise on validation
    photos regenerated from the manifest (every policy output bit for bit; separating weights may
    move the category's probabilities, within the recorded difference). The manifest says what
    was done, with the model's time before and after on the same machine."""
    import tempfile

    fn, key = GRAPH_REWRITES[rewrite]
    raw = json.loads((model_dir / "manifest.json").read_text())
    manifest, blob = load_manifest(model_dir)
    val = built_sets(model_dir, raw, manifest.input, ("validation",), workers, cache_dir, log)["validation"]
    px, q = val.pixels[:check_photos], np.ascontiguousarray(val.quality[:check_photos, 0])
    with tempfile.TemporaryDirectory() as tmp:
        out, info = fn(model_dir / "model.onnx", Path(tmp) / "model.onnx", px, q)
        new_blob = out.read_bytes()
    # Same machine, same photos. The exact U8U8 kernels are what a CPU without VNNI runs.
    lat = {"before_ms": latency_ms(blob, px[:20], q[:20], exact_int8=False)["median"],
           "after_ms": latency_ms(new_blob, px[:20], q[:20])["median"],
           "after_exact_int8_ms": latency_ms(new_blob, px[:20], q[:20], exact_int8=True)["median"]}
    (model_dir / "model.onnx").write_bytes(new_blob)
    raw["version"] = version
    raw["sha256"] = sha256_file(model_dir / "model.onnx")
    raw["evaluation"]["serving_graph"][key] = {
        **info, "checked_on": len(px), "from_version": manifest.version,
        "latency_same_machine": lat,
        "note": f"graph rewritten after the build (python -m model_build {rewrite}); weights, thresholds and "
                "every other figure are the build's",
    }
    (model_dir / "manifest.json").write_text(json.dumps(raw, indent=2, default=float) + "\n")
    load_manifest(model_dir)
    log(f"{model_dir}: {manifest.version} -> {version}; {rewrite}: {json.dumps(info, default=float)[:300]}; "
        f"latency {lat['before_ms']:.2f} -> {lat['after_ms']:.2f} ms "
        f"({lat['after_exact_int8_ms']:.2f} ms with exact INT8 kernels)")
    return raw
