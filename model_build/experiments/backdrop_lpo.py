"""Experiment, not part of the build: does a recipe generalise to real backdrop photos it never saw?

    python -m model_build.experiments.backdrop_lpo [--fold 0] [--seed 0] [--reads-pretrained]

The shifted held-out set shows the model new real photographs as backdrops (a launch site, a
camera, coins, the Moon, a retina) and background accuracy on them is the weakest part of that
head. Reading the shifted set to choose a recipe would tune to it. This probe asks the same
question of the training set instead: it trains the build's heads (``train.train_heads``, the
shipped recipe, on the build's cached maps) without every training photo whose backdrop is one
real photograph of each class (a fold), and scores background on exactly those photos (view 0).
Validation is scored beside it, so a recipe that buys the left-out photos with the rest shows.

Folds: each leaves out one lifestyle and one "other" photograph. ``--reads-pretrained`` sets
``TrainConfig.background_reads_pretrained``. fp32 (torch) figures; results go to
``.cache/experiments/backdrop_lpo-<fold>-<seed>-<arm>.json``; findings are in model_build/README.md.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import replace

import numpy as np

from . import results_file
from ..build import HELD_OUT_SETS, SynthPlan, default_sets
from ..efficientnet_lite import load_pretrained
from ..features_cache import DEFAULT_CACHE, FeatureSet
from ..input_spec import input_spec
from ..network import HeadTrainer
from ..train import TrainConfig, predict_logits, quick_metrics, train_heads

# One lifestyle and one "other" photograph per fold (synth/partition.py: the training pools).
FOLDS = (("photo_motorcycle", "photo_grass"), ("photo_astronaut", "photo_brick"), ("photo_coffee", "photo_hubble"))


def left_out(train: FeatureSet, fold: int) -> np.ndarray:
    """Which training photos have one of the fold's backdrops."""
    return np.array([m.get("backdrop") in FOLDS[fold] for m in train.meta], bool)


def per_backdrop(logits: dict[str, np.ndarray], fs: FeatureSet) -> dict[str, list[int]]:
    """Background right / counted, per photograph backdrop (photos that show a backdrop)."""
    pred, y = logits["background"].argmax(1), fs.labels[:, 0]
    right, seen = Counter(), Counter()
    for i, m in enumerate(fs.meta):
        b = m.get("backdrop", "")
        if y[i] >= 0 and b.startswith("photo_"):
            right[b] += int(pred[i] == y[i])
            seen[b] += 1
    return {b: [right[b], seen[b]] for b in sorted(seen)}


def run_fold(train: FeatureSet, scored: dict[str, FeatureSet], fold: int, cfg: TrainConfig) -> dict:
    """Train without the fold's photos; score them ("left_out") and every set in ``scored``."""
    out = left_out(train, fold)
    backbone = load_pretrained()
    heads = train_heads(backbone, train.subset(np.flatnonzero(~out)), cfg, log=lambda _: None)
    trainer = HeadTrainer(backbone, heads)
    res = {}
    for name, fs in {"left_out": train.subset(np.flatnonzero(out)), **scored}.items():
        logits = predict_logits(trainer, fs)
        res[name] = {**quick_metrics(logits, fs.labels), "n": len(fs), "photos": per_backdrop(logits, fs)}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fold", type=int, choices=range(len(FOLDS)), default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reads-pretrained", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    cfg = replace(TrainConfig(), seed=args.seed, background_reads_pretrained=args.reads_pretrained)
    sets, _ = default_sets(SynthPlan(), args.workers, DEFAULT_CACHE, lambda _: None, input_spec(), cfg)
    t0 = time.monotonic()
    res = run_fold(sets["train"], {k: sets[k] for k in HELD_OUT_SETS}, args.fold, cfg)
    arm = "reads_pretrained" if args.reads_pretrained else "default"
    out = results_file(f"backdrop_lpo-{args.fold}-{args.seed}-{arm}.json")
    out.write_text(json.dumps({"fold": FOLDS[args.fold], "seed": args.seed, "arm": arm, "results": res}, indent=1))
    for name, r in res.items():
        print(f"{name:14s} n={r['n']:4d} background {100 * r['background_acc']:.1f}  angle {100 * r['angle_acc']:.1f}  "
              f"photos {r['photos']}")
    print(f"{arm}, fold {args.fold} {FOLDS[args.fold]}, seed {args.seed}: {time.monotonic() - t0:.0f}s -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
