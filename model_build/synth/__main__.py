"""python -m model_build.synth --out DIR --n N --seed S --split train|heldout_in|heldout_shift [--workers 2]"""
from __future__ import annotations

import argparse
import sys
import time

from .catalog import write_catalog
from .partition import SPLITS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model_build.synth", description="Write a synthetic labelled catalog.")
    ap.add_argument("--out", required=True, help="output folder (images/ and labels.csv)")
    ap.add_argument("--n", type=int, required=True, help="number of samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=SPLITS, default="train")
    ap.add_argument("--workers", type=int, default=1, help="worker processes")
    a = ap.parse_args(argv)
    if a.n < 0 or a.workers < 1:
        ap.error("--n must be >= 0 and --workers >= 1")
    t = time.perf_counter()
    path = write_catalog(a.out, a.n, a.seed, a.split, workers=a.workers)
    dt = time.perf_counter() - t
    print(f"wrote {a.n} samples to {path} in {dt:.1f}s ({1000 * dt / max(a.n, 1):.0f} ms/sample)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
