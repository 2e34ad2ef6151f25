"""From cached features to a served model directory: train heads, calibrate, export, check,
quantise (choosing what stays fp32 by measurement), pick the operating point, evaluate, write.

Shared by ``build-default`` (synthetic catalog) and ``train`` (a retailer's own CSV).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from screener.manifest import InputSpec, sha256_file

from .artifact import MAX_MODEL_BYTES, write_model_dir
from .build_environment import build_environment
from .efficientnet_lite import load_pretrained
from .evaluate import evaluate_sets, latency_ms, outputs, summarise
from .export import export_onnx, max_abs_diff, parity_torch_vs_onnx
from .features_cache import FeatureSet
from .metrics import head_metrics, headline
from .network import HeadTrainer, ScreenerNet
from .operating_point import choose, split_half_check, sweep
from .quantize import ACTIVATION_TYPES, CALIBRATION_IMAGES, exclusion_candidates, preprocess, quantize
from .serving_graph import fuse, separate_shared_weights, space_to_depth_stem
from .train import TrainConfig, fit_temperatures, train_heads

# Quantisation choice (pick_variant). It must not depend on a timing: the build is reproduced
# bit for bit, and on this shared machine one variant's latency moved 4.8 -> 8.3 ms between two
# builds of the same graphs (30 Nov), which flipped a rule that took "the fastest". What speed
# depends on is known in advance: ONNX Runtime's x86 kernels are fast for uint8 activations with
# int8 weights (U8S8), and int8 activations ran 1.2-2.9x slower in 14 of 15 measured pairs here.
PREFERRED_ACTIVATIONS = "uint8"
# int8 activations ship only if they beat every uint8 variant's worst drop by more than this: 0.5
# point is 2-3 of the 500 validation photos, less than one head's drop moves between equally good
# variants.
DROP_TOLERANCE_POINTS = 0.5


@dataclass
class PackageConfig:
    version: str
    train: TrainConfig = field(default_factory=TrainConfig)
    target_false_approve: float = 0.01  # the policy target, reported on the test sets
    select_false_approve: float = 0.01  # what the thresholds are tuned to on the validation set
    work_dir: Path = Path(".cache/build")
    latency_runs: int = 200
    # None: measure every (activation type, fp32 nodes) variant; else only these names, e.g.
    # ("uint8 activations, fp32: first_conv",) for a quick build.
    quant_variants: tuple[str, ...] | None = None


def _drop_points(h: dict[str, float], ref: dict[str, float]) -> float:
    drops = [100 * (ref[k] - h[k]) for k in ("background_acc", "angle_acc", "crop_f1")]
    if not np.isnan(ref["quality_auc"]):
        drops.append(100 * (ref["quality_auc"] - h["quality_auc"]))
    drops.append(100 * (h["quality_mae"] - ref["quality_mae"]))
    return max(0.0, *drops)


QUANTIZATION_RULE = (
    f"of the variants of at most 6 MiB, the {PREFERRED_ACTIVATIONS}-activation one (the CPU's fast kernels) with the smallest "
    f"worst per-head drop vs fp32 on the validation set, ties to fewer fp32 nodes; another activation type only if "
    f"it beats that drop by more than {DROP_TOLERANCE_POINTS} points. Latency is measured and reported, not used")


def pick_variant(variants: dict[str, dict]) -> str:
    """QUANTIZATION_RULE over measured variants (``size_mb``, ``worst_drop_points``, ``activations``,
    ``fp32_nodes``). Deterministic given the drops, which are."""
    fits = sorted(n for n, v in variants.items() if v["size_mb"] <= MAX_MODEL_BYTES / 2**20)
    if not fits:
        raise ValueError(f"no quantised variant fits {MAX_MODEL_BYTES / 2**20:.0f} MiB")

    def best(names: list[str]) -> str:
        return min(names, key=lambda n: (variants[n]["worst_drop_points"], len(variants[n].get("fp32_nodes", ())), n))

    preferred = [n for n in fits if variants[n]["activations"] == PREFERRED_ACTIVATIONS]
    overall = best(fits)
    if not preferred:
        return overall
    pick = best(preferred)
    gain = variants[pick]["worst_drop_points"] - variants[overall]["worst_drop_points"]
    return overall if gain > DROP_TOLERANCE_POINTS else pick


def serving_file(qdq: Path, val: FeatureSet) -> tuple[Path, dict]:
    """The file a QDQ graph would ship as (serving_graph.py): fused ahead of time, checked bit for
    bit against the QDQ graph, then with no INT8 weight shared, so that it loads with exact INT8
    kernels, then with the stem as SpaceToDepth + a 2x2 conv (bit for bit the same outputs).
    Each step is checked on up to 32 validation photos."""
    n_check = min(len(val), 32)
    px, q = val.pixels[:n_check], np.ascontiguousarray(val.quality[:n_check, 0])
    info = {"fused_from_sha256": sha256_file(qdq), "level": "ORT extended (hardware-independent)",
            "checked_identical_on": n_check}
    fused = fuse(qdq, qdq.with_suffix(".fused.onnx"), px, q)
    separated_file, separated = separate_shared_weights(fused, qdq.with_suffix(".separated.onnx"), px, q)
    info["separated"] = {**separated, "checked_on": n_check}
    served, info["stem"] = space_to_depth_stem(separated_file, qdq.with_suffix(".serving.onnx"), px, q)
    return served, info


def calibration_inputs(val: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
    """The serving inputs every quantisation of a build calibrates on: the first validation photos.
    int8_backbone.py relies on the whole model getting the same ones."""
    n = min(len(val), CALIBRATION_IMAGES)
    return val.pixels[:n], np.ascontiguousarray(val.quality[:n, 0])


def choose_quantization(fp32: Path, work: Path, val: FeatureSet, runs: int, log: Callable[[str], None],
                        only: tuple[str, ...] | None = None) -> tuple[Path, dict, dict]:
    """Quantise with each candidate set of fp32 nodes; measure drop, output error, size, latency.

    Each variant is measured as the file it would ship as (``serving_file``), with the kernels
    serving runs on this CPU. On a CPU without VNNI those are the exact ones, and a QDQ graph
    cannot load with them. Returns the chosen variant's serving file, the measurements, and how
    that file was made."""
    px, q = calibration_inputs(val)
    calib = len(px)
    pre = preprocess(fp32, work / "model.pre.onnx")
    ref_out = outputs(fp32, val)
    ref = headline(head_metrics(ref_out, val.labels))
    variants, paths, graphs = {}, {}, {}
    for (excl, nodes), act in itertools.product(exclusion_candidates(pre).items(), ACTIVATION_TYPES):
        name = f"{act} activations, fp32: {excl}"
        if only is not None and name not in only:
            continue
        qdq = quantize(pre, work / f"model.{act}.{excl.replace('+', '_')}.onnx", px, q, nodes, act)
        path, graphs[name] = serving_file(qdq, val)
        out = outputs(path, val)
        h = headline(head_metrics(out, val.labels))
        lat = latency_ms(path.read_bytes(), val.pixels[:20], np.ascontiguousarray(val.quality[:20, 0]), runs=min(runs, 60))
        variants[name] = {
            "activations": act,
            "kept_fp32": excl,
            "fp32_nodes": nodes,
            "size_mb": path.stat().st_size / 2**20,
            "latency_ms": lat["median"],
            "worst_drop_points": _drop_points(h, ref),
            "max_abs_diff": max(max_abs_diff(out, ref_out).values()),
            "metrics": h,
        }
        paths[name] = path
        v = variants[name]
        log(f"  [{name}]: {v['size_mb']:.2f} MB as served, {v['latency_ms']:.2f} ms, "
            f"worst drop {v['worst_drop_points']:.2f} pts, max |d| {v['max_abs_diff']:.4f}")
    chosen = pick_variant(variants)
    log(f"  chosen: [{chosen}] ({QUANTIZATION_RULE})")
    return paths[chosen], {"variants": variants, "chosen": chosen, "rule": QUANTIZATION_RULE, "calibration_images": calib,
                           "fp32_metrics_on_validation": ref, "format": "QDQ, symmetric per-channel int8 weights, asymmetric 8-bit activations, MinMax calibration"}, graphs[chosen]


def package(
    train: FeatureSet, val: FeatureSet, test_sets: dict[str, FeatureSet], out_dir: Path, spec: InputSpec,
    cfg: PackageConfig, training_info: dict, log: Callable[[str], None] = print,
) -> dict:
    t0 = time.monotonic()
    torch.set_num_threads(cfg.train.threads)
    backbone = load_pretrained()
    int8_note = "" if train.maps_int8 is None or not cfg.train.int8_share else \
        f", {cfg.train.int8_share:.0%} of the maps drawn from the INT8 backbone"
    log(f"training heads on {len(train)} images x {train.maps.shape[1]} views{int8_note}")
    heads = train_heads(backbone, train, cfg.train, val=val, log=log)
    trainer = HeadTrainer(backbone, heads)
    temps = fit_temperatures(trainer, val, log=log)
    net = ScreenerNet(backbone, heads).eval()
    t_train = time.monotonic() - t0

    work = cfg.work_dir
    work.mkdir(parents=True, exist_ok=True)
    fp32 = export_onnx(net, work / "model.fp32.onnx", n_quality=train.quality.shape[-1])
    n_par = min(len(val), 16)
    parity = parity_torch_vs_onnx(net, fp32, val.pixels[:n_par], np.ascontiguousarray(val.quality[:n_par, 0]))
    log("  ONNX fp32 vs torch, max |diff| per output: " + ", ".join(f"{k} {v:.2e}" for k, v in parity.items()))

    # The chosen variant's serving file: fused ahead of time as every session would fuse it
    # (faster cold start), with no INT8 weight shared; everything below measures the file that ships.
    int8, qinfo, serving_graph = choose_quantization(fp32, work, val, cfg.latency_runs, log, cfg.quant_variants)
    sep = serving_graph["separated"]
    log(f"  serving file: {int8.stat().st_size / 2**20:.2f} MiB, fused (outputs identical on "
        f"{serving_graph['checked_identical_on']} validation photos), shared weights separated "
        f"({', '.join(sep['float_convs']) or 'none'}; category max |diff| {sep['category_max_abs_diff']:.4f})")

    val_out = outputs(int8, val)
    op = choose(sweep(val_out, val.labels), cfg.select_false_approve)
    thresholds = {k: float(v) for k, v in op.thresholds.items()}
    log(f"  operating point on validation: thresholds {thresholds} -> auto-approve {op.auto_approve:.1%}, "
        f"false-approve {op.false_approve:.2%}")
    carry = split_half_check(val_out, val.labels, cfg.select_false_approve)
    log(f"  the same choice fitted on half the validation set, scored on the other half ({carry['splits']} splits): "
        f"false-approve {carry['held_out_false_approve']['mean']:.2%} on average, "
        f"auto-approve {carry['held_out_auto_approve']['mean']:.1%}")

    int8_bytes = int8.read_bytes()
    sets_res = evaluate_sets(int8_bytes, fp32, test_sets, thresholds) if test_sets else {}
    first = next(iter(test_sets.values()), val)
    lat = latency_ms(int8_bytes, first.pixels[:20], np.ascontiguousarray(first.quality[:20, 0]), runs=cfg.latency_runs)
    lat32 = latency_ms(fp32.read_bytes(), first.pixels[:20], np.ascontiguousarray(first.quality[:20, 0]), runs=cfg.latency_runs // 2)
    shift_name = "heldout_shift" if "heldout_shift" in sets_res else next(iter(sets_res), None)
    summary = summarise(sets_res, lat, shift=shift_name) if shift_name else {}
    evaluation = {
        "summary_on": shift_name,
        "summary": summary,
        "sets": {n: {"n": e["n"], "int8": headline(e["int8"]), "fp32": headline(e["fp32"]),
                     "approval_int8": {k: e["approval"]["operating_point"][k] for k in ("auto_approve", "false_approve", "approved_bad_share")},
                     "approval_fp32": {k: e["approval_fp32"][k] for k in ("auto_approve", "false_approve", "approved_bad_share")},
                     "category_top1_agreement_int8_vs_fp32": e["category_top1_agreement_int8_vs_fp32"]}
                 for n, e in sets_res.items()},
        "latency_ms": {"int8": lat["median"], "fp32": lat32["median"], "threads": 1, "batch": 1},
        "onnx_fp32_vs_torch_max_abs_diff": parity,
        "quantization": {k: v for k, v in qinfo.items()},
        "calibration_temperatures": dict(zip(("background", "angle", "crop"), temps)),
        "serving_graph": serving_graph,
    }
    operating_point = {
        "target_false_approve": cfg.target_false_approve,
        "selected_on": f"validation set ({len(val)} images{', ' + training_info.get('val_source', '') if training_info.get('val_source') else ''}), INT8 outputs, tuned to false-approve <= {cfg.select_false_approve:.2%}",
        "validation": {"auto_approve": op.auto_approve, "false_approve": op.false_approve},
        # The rate above is fitted to a few photos; this is how the choice carries to unseen ones.
        "validation_split_half": {k: v for k, v in carry.items() if k != "per_split"},
        **{n: {k: e["approval"]["operating_point"][k] for k in ("auto_approve", "false_approve", "approved_bad_share")}
           for n, e in sets_res.items()},
    }
    training = {**training_info, "train_images": len(train), "views": int(train.maps.shape[1]),
                "validation_images": len(val), "head_training_s": round(t_train, 1), "config": asdict(cfg.train),
                # The fp32 model stays in the work dir (not shipped); evaluate compares against it by hash.
                "fp32_sha256": sha256_file(fp32),
                # Identical bytes on a rebuild need the same CPU features as well as the same code.
                "environment": build_environment()}
    write_model_dir(out_dir, int8, spec, cfg.version, thresholds, operating_point, evaluation, training)
    log(f"wrote {out_dir}/model.onnx ({int8.stat().st_size / 2**20:.2f} MiB) and manifest.json")
    return {"sets": sets_res, "thresholds": thresholds, "operating_point": operating_point,
            "evaluation": evaluation, "latency": {"int8": lat, "fp32": lat32}, "fp32_path": str(fp32)}
