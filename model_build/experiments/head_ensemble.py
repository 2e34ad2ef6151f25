"""Experiment, not part of the build: do several trained head sets beat one?

    python -m model_build.experiments.head_ensemble --epochs 30 --members 0:0 1:1   # two inits
    python -m model_build.experiments.head_ensemble --epochs 30 --members 0:0 0:1   # one init, two data orders
    python -m model_build.experiments.head_ensemble --epochs 30 --adapt last_block_shared_expand --members 0:0 1:1

Each member is ``INIT:DATA``: the torch seed its head set starts from and the seed of its batches
(``train.train_heads``'s ``init_seed`` and ``TrainConfig.seed``); everything else is the shipped
recipe, trained on the build's cached maps. Three ways to combine the members are scored on
validation, heldout_in and heldout_shift (view 0, fp32 heads):
- each member alone;
- **ensemble**: the members' logits averaged. Serving would run every member's block-15 copy and
  heads, and store their weights (~1 MB INT8 each: over the 6 MiB budget, model_build/README.md);
- **soup**: the members' weights averaged into one head set, which costs nothing to serve. It only
  makes sense for members that share their initial weights (fine-tuned from one starting point,
  they stay in one basin; from two random heads' inits they do not).

Logits go to ``.cache/experiments/head_ensemble-<tag>.npz``; findings are in model_build/README.md.
"""
from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace

import numpy as np

from . import results_file
from ..build import HELD_OUT_SETS, SynthPlan, default_sets
from ..efficientnet_lite import load_pretrained
from ..features_cache import DEFAULT_CACHE, FeatureSet
from ..heads import ScreenerHeads
from ..input_spec import input_spec
from ..network import HeadTrainer
from ..train import Adaptation, TrainConfig, predict_logits, quick_metrics, train_heads


def parse_member(text: str) -> tuple[int, int]:
    init, data = text.split(":")
    return int(init), int(data)


def soup(members: list[ScreenerHeads]) -> ScreenerHeads:
    """One head set whose every weight is the members' mean (buffers too: they are equal)."""
    out = copy.deepcopy(members[0])
    states = [m.state_dict() for m in members]
    out.load_state_dict({k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) for k, v in states[0].items()})
    return out


def averaged_logits(per_member: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.mean([m[k] for m in per_member], axis=0) for k in per_member[0]}


def run(train: FeatureSet, scored: dict[str, FeatureSet], members: list[tuple[int, int]], cfg: TrainConfig,
        log=print) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Logits per arm ("member INIT:DATA", "ensemble", and "soup" when every member shares its
    init) per scored set."""
    backbone = load_pretrained()
    heads, arms = [], {}
    for init, data in members:
        t0 = time.monotonic()
        h = train_heads(backbone, train, replace(cfg, seed=data), log=lambda _: None, init_seed=init)
        heads.append(h)
        arms[f"member {init}:{data}"] = {k: predict_logits(HeadTrainer(backbone, h), fs) for k, fs in scored.items()}
        log(f"member {init}:{data} trained in {time.monotonic() - t0:.0f}s")
    if len(members) > 1:
        per = list(arms.values())
        arms["ensemble"] = {k: averaged_logits([a[k] for a in per]) for k in scored}
        if len({init for init, _ in members}) == 1:
            arms["soup"] = {k: predict_logits(HeadTrainer(backbone, soup(heads)), fs) for k, fs in scored.items()}
    return arms


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", nargs="+", type=parse_member, default=[(0, 0), (1, 1)], help="INIT:DATA seeds")
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--adapt", choices=[a.value for a in Adaptation], default=TrainConfig().adapt.value,
                    help="what every member adapts (last_block_shared_expand stores no second expand conv)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    cfg = replace(TrainConfig(), epochs=args.epochs, adapt=Adaptation(args.adapt))
    sets, _ = default_sets(SynthPlan(), args.workers, DEFAULT_CACHE, lambda _: None, input_spec(), cfg)
    arms = run(sets["train"], {k: sets[k] for k in HELD_OUT_SETS}, args.members, cfg)
    tag = f"e{args.epochs}-{args.adapt}-" + "-".join(f"{i}_{d}" for i, d in args.members)
    out = results_file(f"head_ensemble-{tag}.npz")
    np.savez(out, **{f"{arm}/{k}/{h}": v for arm, per in arms.items() for k, lg in per.items() for h, v in lg.items()})
    for arm, per in arms.items():
        for k in HELD_OUT_SETS:
            m = quick_metrics(per[k], sets[k].labels)
            print(f"{arm:12s} {k:13s} background {100 * m['background_acc']:.1f}  angle {100 * m['angle_acc']:.1f}  "
                  f"crop {100 * m['crop_acc']:.1f}  quality MAE {m['quality_mae']:.4f}")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
