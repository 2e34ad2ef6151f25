"""python -m model_build {build-default, train, evaluate, separate-weights, space-to-depth-stem}."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screener.preprocess import FEATURE_SETS

from .input_spec import DEFAULT_QUALITY_FEATURES
from .train import Adaptation, TrainConfig


def _add_training_options(p: argparse.ArgumentParser) -> None:
    """The options build-default and train share, read back by _train_config and _feature_kw."""
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--quality-features", type=int, choices=sorted(FEATURE_SETS), default=None,
                   help=f"quality-feature set to train with (default {DEFAULT_QUALITY_FEATURES}: v1's sharpness, "
                        "noise and exposure statistics plus whole-frame exposure and backdrop statistics)")
    p.add_argument("--adapt", choices=[a.value for a in Adaptation], default=None,
                   help="pretrained layers the heads adapt (default last_block: a trainable copy of the backbone's last block)")


def _train_config(args: argparse.Namespace) -> TrainConfig:
    kw = {k: getattr(args, k) for k in ("epochs", "adapt") if getattr(args, k) is not None}
    return TrainConfig(**kw)


def _feature_kw(args: argparse.Namespace) -> dict:
    return {} if args.quality_features is None else {"quality_features": args.quality_features}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model_build", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    b = sub.add_parser("build-default", help="generate the synthetic catalog, train, export, quantise, evaluate, write layers/model/")
    b.add_argument("--out", type=Path, default=Path("layers/model"))
    b.add_argument("--n-train", type=int, default=None)
    b.add_argument("--n-val", type=int, default=None)
    b.add_argument("--n-test", type=int, default=None)
    b.add_argument("--n-shift", type=int, default=None)
    b.add_argument("--seed", type=int, default=None)
    b.add_argument("--workers", type=int, default=2)
    _add_training_options(b)

    t = sub.add_parser("train", help="train on your own labelled photos (CSV: path,background,angle,crop,quality)")
    t.add_argument("--manifest", type=Path, required=True, help="CSV; paths relative to it, absolute, or s3://bucket/key")
    t.add_argument("--out", type=Path, default=Path("build/model"))
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--version", default="0.1.0")
    t.add_argument("--val-fraction", type=float, default=0.15)
    _add_training_options(t)

    e = sub.add_parser("evaluate", help="write the evaluation report for a model directory")
    e.add_argument("--model-dir", type=Path, default=Path("layers/model"))
    e.add_argument("--out", type=Path, default=Path("report"))
    e.add_argument("--workers", type=int, default=2)

    helps = {"separate-weights": "rewrite a built model's graph so no INT8 weight is shared (see serving_graph.py)",
             "space-to-depth-stem": "rewrite a built model's stem as SpaceToDepth + a 2x2 conv, outputs bit for bit "
                                    "the same (see serving_graph.py)"}
    for name, text in helps.items():
        w = sub.add_parser(name, help=text)
        w.add_argument("--model-dir", type=Path, default=Path("layers/model"))
        w.add_argument("--version", required=True)
        w.add_argument("--workers", type=int, default=2)

    args = ap.parse_args(argv)
    if args.cmd == "build-default":
        from dataclasses import replace

        from .build import SynthPlan, build_default

        plan = SynthPlan()
        for k in ("n_train", "n_val", "n_test", "n_shift", "seed"):
            if getattr(args, k) is not None:
                plan = replace(plan, **{k: getattr(args, k)})
        build_default(args.out, plan, _train_config(args), workers=args.workers, **_feature_kw(args))
    elif args.cmd == "train":
        from .build import train_from_csv
        from .manifest_csv import ManifestCSVError

        try:
            train_from_csv(args.manifest, args.out, _train_config(args), workers=args.workers, val_fraction=args.val_fraction,
                           version=args.version, **_feature_kw(args))
        except ManifestCSVError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    elif args.cmd in ("separate-weights", "space-to-depth-stem"):
        from .build import rewrite_graph

        rewrite_graph(args.model_dir, args.cmd, args.version, workers=args.workers)
    elif args.cmd == "evaluate":
        from .build import evaluate_model

        evaluate_model(args.model_dir, args.out, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
