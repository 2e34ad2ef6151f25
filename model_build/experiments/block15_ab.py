"""Experiment, not part of the build: which pretrained layers should the heads adapt?

    python -m model_build.experiments.block15_ab [--arms head_conv last_block ...] [--seeds 0 1 2] [--epochs 60]
                                                  [--validation 250]

With ``--arms last_block --validation 500`` it is the shipped recipe on the build's own photos,
and the seeds alone vary: how far the approval point moves with the training seed.

Every arm is the build's own ``train.train_heads`` (the shipped recipe: AdamW one-cycle, label
smoothing, the INT8-sized feature noise, temperatures on validation) with a different
``TrainConfig.adapt``, on the same photos as the default build, from cached maps of the
backbone's first 15 blocks (192x7x7); the frozen block 15 runs per batch where an arm does not
adapt it.

It reports fp32 (torch) figures on the shifted held-out set: per-head accuracy, and the
approval operating point chosen on validation at <= 1 % false-approve, as the build chooses it,
beside the best point on the shifted set itself (hindsight). Results go to
``.cache/experiments/block15_ab.json``; findings are in model_build/README.md.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import RESULTS
from ..build import SynthPlan, synth_sets
from ..efficientnet_lite import EfficientNetLite0, load_pretrained
from ..features_cache import DEFAULT_CACHE, FeatureSet
from ..heads import ScreenerHeads
from ..input_spec import input_spec
from ..metrics import background_accuracy
from ..network import HeadTrainer
from ..operating_point import choose, evaluate_policy, scores_list, sweep
from ..train import Adaptation, TrainConfig, cached_blocks, fit_temperatures, predict_logits, train_heads


class FrozenBlockThenHeads(nn.Module):
    """For arms that leave block 15 frozen: run it on the cached block-14 maps, then the trainer."""

    def __init__(self, backbone: EfficientNetLite0, heads: ScreenerHeads):
        super().__init__()
        self.block, self.trainer = backbone._blocks[-1], HeadTrainer(backbone, heads)
        self.heads = heads

    def train(self, mode: bool = True):
        super().train(mode)
        self.block.eval()
        self.trainer.train(mode)
        return self

    def forward(self, block14: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            out = self.block(block14)
        return self.trainer(out, quality)


def train_arm(backbone: EfficientNetLite0, train: FeatureSet, adapt: Adaptation, cfg: TrainConfig) -> nn.Module:
    """The build's train_heads on block-14 maps; arms that do not adapt block 15 see it frozen."""
    cfg = replace(cfg, adapt=adapt)
    if cached_blocks(adapt) is not None:
        return HeadTrainer(backbone, train_heads(backbone, train, cfg, log=lambda _: None))
    with torch.no_grad():  # block 15's output, once: the arm trains on it like the build does
        maps = np.stack([backbone._blocks[-1](torch.from_numpy(train.maps[:, v].astype(np.float32))).numpy()
                         for v in range(train.maps.shape[1])], axis=1).astype(np.float16)
    heads = train_heads(backbone, replace(train, maps=maps), cfg, log=lambda _: None)
    return FrozenBlockThenHeads(backbone, heads)


def probabilities(model: nn.Module, fs: FeatureSet) -> dict[str, np.ndarray]:
    logits = predict_logits(model, fs)
    with torch.no_grad():
        p = model.heads.probabilities({k: torch.from_numpy(v) for k, v in logits.items()})
    return {k: v.numpy() for k, v in p.items()}


def score(model: nn.Module, val: FeatureSet, shift: FeatureSet) -> dict:
    fit_temperatures(model, val, log=lambda _: None)
    pv, ps = probabilities(model, val), probabilities(model, shift)
    point = choose(sweep(pv, val.labels), 0.01)
    on_shift = evaluate_policy(scores_list(ps), shift.labels, point.thresholds)  # screener.policy.decide itself
    best = choose(sweep(ps, shift.labels), 0.01)
    return {
        "shift_background_acc": background_accuracy(ps["background"], shift.labels),
        "shift_angle_acc": float((ps["angle"].argmax(1) == shift.labels[:, 1]).mean()),
        "shift_crop_acc": float(((ps["crop"][:, 0] > 0.5) == (shift.labels[:, 2] > 0.5)).mean()),
        "shift_quality_mae": float(np.abs(ps["quality"][:, 0] - shift.labels[:, 3]).mean()),
        "thresholds": point.thresholds,
        "val_auto_false_approve": [point.auto_approve, point.false_approve],
        "shift_auto_false_approve": [on_shift.auto_approve, on_shift.false_approve],
        "shift_hindsight_auto_false_approve": [best.auto_approve, best.false_approve],
    }


def run(arms: list[Adaptation], seeds: list[int], epochs: int, plan: SynthPlan = SynthPlan(n_val=250), workers: int = 2,
        cache_dir: Path | None = DEFAULT_CACHE, log=print) -> list[dict]:
    backbone = load_pretrained().eval()
    backbone.requires_grad_(False)
    # Every arm trains from block-14 maps. The build's own call for them (its cache labels and
    # pixel keeping), so the maps a `make model` cached serve here, and these serve it.
    sets = synth_sets(plan, workers, cache_dir, log, only=("train", "validation", "heldout_shift"), spec=input_spec(),
                      upto_block=len(backbone._blocks) - 1)
    rows = []
    for seed in seeds:
        for arm in arms:
            t0 = time.monotonic()
            model = train_arm(backbone, sets["train"], arm, TrainConfig(epochs=epochs, seed=seed))
            row = {"arm": arm.value, "seed": seed, "epochs": epochs, "train_s": round(time.monotonic() - t0, 1),
                   **score(model, sets["validation"], sets["heldout_shift"])}
            log(json.dumps(row))
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arms", nargs="+", choices=[a.value for a in Adaptation], default=[a.value for a in Adaptation])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--validation", type=int, default=250,
                    help="validation photos the operating point is chosen on (the build uses 500)")
    ap.add_argument("--out", type=Path, default=RESULTS / "block15_ab.json")
    args = ap.parse_args(argv)
    rows = run([Adaptation(a) for a in args.arms], args.seeds, args.epochs, plan=SynthPlan(n_val=args.validation))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
