"""Experiment, not part of the build: is fine-tuning the backbone's last block worth its bytes?

    python -m model_build.experiments.block15_ab [--arms A B C] [--seeds 0 1 2] [--epochs 60]

Every arm trains the shipped heads with the shipped recipe (TrainConfig: AdamW one-cycle, label
smoothing, the INT8-sized feature noise, temperatures on validation) on the same photos as the
default build, from the same cached maps of the backbone's first 15 blocks (192x7x7):

- A: block 15 frozen, a trainable copy of the 1x1 head conv (the shipped architecture);
- B: a trainable copy of block 15, the original head conv frozen and shared with the category
  path (in ONNX both convs would read one initializer: +0.19 M INT8 weights over A, within 6 MB);
- C: both copies trainable (+0.6 M over A: over the 6 MB budget, shown as a ceiling).

It reports fp32 (torch) figures on the shifted held-out set: per-head accuracy, and the
approval operating point chosen on validation at <= 1 % false-approve, as the build chooses it,
beside the best point on the shifted set itself (hindsight). Results go to
``.cache/experiments/block15_ab.json``; findings are in model_build/README.md.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..build import SynthPlan
from ..efficientnet_lite import EfficientNetLite0, load_pretrained
from ..features_cache import DEFAULT_CACHE, FeatureSet, extract
from ..heads import HeadConvAdapter, ScreenerHeads
from ..input_spec import input_spec
from ..operating_point import choose, evaluate_policy, scores_list, sweep
from ..synthetic import SynthItem
from ..train import TrainConfig, fit, fit_temperatures, predict_logits

ARMS = {"A": (False, True), "B": (True, False), "C": (True, True)}  # (block-15 copy, head-conv copy)


class LastBlocksTrainer(nn.Module):
    """Block 15 (frozen original or trainable copy) -> head conv (adapter copy or frozen original,
    which still passes gradients to a trainable block) -> the heads."""

    def __init__(self, backbone: EfficientNetLite0, heads: ScreenerHeads, block_copy: bool):
        super().__init__()
        self.backbone, self.heads = backbone, heads
        self.block = copy.deepcopy(backbone._blocks[-1]) if block_copy else None
        if self.block is not None:  # the copy of a frozen block is frozen: thaw it, batch norms aside
            for m in self.block.modules():
                for p in m.parameters(recurse=False):
                    p.requires_grad_(not isinstance(m, nn.BatchNorm2d))

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        for m in self.modules():  # running statistics stay the pretrained ones
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, block14: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        b = self.backbone
        out = (self.block if self.block is not None else b._blocks[-1])(block14)
        fmap = self.heads.adapter(out) if self.heads.adapter is not None else F.relu6(b._bn1(b._conv_head(out)))
        return self.heads.logits(fmap, fmap.mean(dim=(2, 3)), quality)


def train_arm(backbone: EfficientNetLite0, train: FeatureSet, arm: str, cfg: TrainConfig) -> LastBlocksTrainer:
    """The build's training loop (train.fit), with the copies trained from their pretrained start."""
    block_copy, conv_copy = ARMS[arm]
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    adapter = HeadConvAdapter(backbone._conv_head, backbone._bn1) if conv_copy else None
    if adapter is not None:
        adapter.conv.requires_grad_(True)
    heads = ScreenerHeads(n_quality=train.quality.shape[-1], dropout=cfg.dropout, adapter=adapter)
    q_all = torch.from_numpy(train.quality[:, 0])
    heads.set_quality_stats(q_all.mean(0), q_all.std(0))
    model = LastBlocksTrainer(backbone, heads, block_copy)
    fit(model, heads, train, cfg, pretrained=[p for m in (adapter, model.block) if m is not None
                                              for p in m.parameters() if p.requires_grad], log=lambda _: None)
    return model


def probabilities(model: LastBlocksTrainer, fs: FeatureSet) -> dict[str, np.ndarray]:
    logits = predict_logits(model, fs)
    with torch.no_grad():
        p = model.heads.probabilities({k: torch.from_numpy(v) for k, v in logits.items()})
    return {k: v.numpy() for k, v in p.items()}


def score(model: LastBlocksTrainer, val: FeatureSet, shift: FeatureSet) -> dict:
    fit_temperatures(model, val, log=lambda _: None)
    pv, ps = probabilities(model, val), probabilities(model, shift)
    point = choose(sweep(pv, val.labels), 0.01)
    on_shift = evaluate_policy(scores_list(ps), shift.labels, point.thresholds)  # screener.policy.decide itself
    best = choose(sweep(ps, shift.labels), 0.01)
    return {
        "shift_background_acc": float((ps["background"].argmax(1) == shift.labels[:, 0]).mean()),
        "shift_angle_acc": float((ps["angle"].argmax(1) == shift.labels[:, 1]).mean()),
        "shift_crop_acc": float(((ps["crop"][:, 0] > 0.5) == (shift.labels[:, 2] > 0.5)).mean()),
        "shift_quality_mae": float(np.abs(ps["quality"][:, 0] - shift.labels[:, 3]).mean()),
        "thresholds": point.thresholds,
        "val_auto_false_approve": [point.auto_approve, point.false_approve],
        "shift_auto_false_approve": [on_shift.auto_approve, on_shift.false_approve],
        "shift_hindsight_auto_false_approve": [best.auto_approve, best.false_approve],
    }


def block14_sets(plan: SynthPlan, backbone_blocks: int, workers: int, cache_dir: Path | None, log) -> dict[str, FeatureSet]:
    spec = input_spec()
    sets = {}
    for name in ("train", "validation", "heldout_shift"):
        split, seed, n = plan.sets()[name]
        sets[name] = extract([SynthItem(split, seed, i) for i in range(n)], spec, views=plan.views if name == "train" else 1,
                             workers=workers, cache_dir=cache_dir, label=f"{name}-block14", log=log,
                             upto_block=backbone_blocks - 1)
    return sets


def run(arms: list[str], seeds: list[int], epochs: int, plan: SynthPlan = SynthPlan(), workers: int = 2,
        cache_dir: Path | None = DEFAULT_CACHE, log=print) -> list[dict]:
    backbone = load_pretrained().eval()
    backbone.requires_grad_(False)
    sets = block14_sets(plan, len(backbone._blocks), workers, cache_dir, log)
    rows = []
    for seed in seeds:
        for arm in arms:
            t0 = time.monotonic()
            model = train_arm(backbone, sets["train"], arm, TrainConfig(epochs=epochs, seed=seed))
            row = {"arm": arm, "seed": seed, "epochs": epochs, "train_s": round(time.monotonic() - t0, 1),
                   **score(model, sets["validation"], sets["heldout_shift"])}
            log(json.dumps(row))
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arms", nargs="+", choices=sorted(ARMS), default=sorted(ARMS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--out", type=Path, default=Path(".cache/experiments/block15_ab.json"))
    args = ap.parse_args(argv)
    rows = run(args.arms, args.seeds, args.epochs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
