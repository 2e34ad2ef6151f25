"""Experiment, not part of the build: how far the approval point moves with the training seed.

    python -m model_build.experiments.seed_spread [--seeds 0 1 2] [--epochs 60]

Every run is the build's own recipe (``TrainConfig`` with only the seed changed) on the build's
cached features of the default catalog (the block-14 maps of ``make model``, so a warm cache
costs only the head training, ~5 min per seed on 2 cores). Scored as ``block15_ab.score`` scores
an arm: fp32 figures on the shifted held-out set, and the approval operating point chosen on the
500 validation photos at <= 1 % false-approve, beside the best point on the shifted set itself
(hindsight). The test sets play no part in any choice. Results go to
``.cache/experiments/seed_spread.json``; findings are in model_build/README.md ("What changed in
1.5.0").
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from ..build import SynthPlan, synth_sets
from ..efficientnet_lite import load_pretrained
from ..features_cache import DEFAULT_CACHE
from ..input_spec import input_spec
from ..train import TrainConfig, cached_blocks
from .block15_ab import score, train_arm


def run(seeds: list[int], cfg: TrainConfig = TrainConfig(), plan: SynthPlan = SynthPlan(), workers: int = 2,
        cache_dir: Path | None = DEFAULT_CACHE, log=print) -> list[dict]:
    backbone = load_pretrained().eval()
    backbone.requires_grad_(False)
    # The build's own call, so its cache entries are found rather than recomputed.
    sets = synth_sets(plan, workers, cache_dir, log, only=("train", "validation", "heldout_shift"),
                      spec=input_spec(), upto_block=cached_blocks(cfg.adapt))
    rows = []
    for seed in seeds:
        t0 = time.monotonic()
        model = train_arm(backbone, sets["train"], cfg.adapt, replace(cfg, seed=seed))
        row = {"seed": seed, "epochs": cfg.epochs, "train_s": round(time.monotonic() - t0, 1),
               **score(model, sets["validation"], sets["heldout_shift"])}
        log(json.dumps(row))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--out", type=Path, default=Path(".cache/experiments/seed_spread.json"))
    args = ap.parse_args(argv)
    rows = run(args.seeds, TrainConfig(epochs=args.epochs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
