"""Rendering cost per image at fixed catalog sizes, on one core.

    python -m model_build.synth.bench [--n 40] [--sizes 1000,1500,3000] [--seed 2024] [--repeat 1]

Takes the first n training specs (their own product, view, backdrop and defects), forces the
long side to each size (keeping square / 4:3 / 3:4), and reports the median CPU time of
``render_spec`` (scene + capture defects) and of ``encode``. CPU time rather than wall time,
and the best of ``--repeat`` runs per spec, so other processes on a shared machine inflate it
less.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from .catalog import encode, render_spec
from .scene import sample_spec


def _resized(spec, long_side: int):
    short = long_side * 3 // 4
    if spec.width == spec.height:
        w, h = long_side, long_side
    else:
        w, h = (long_side, short) if spec.width > spec.height else (short, long_side)
    return dataclasses.replace(spec, width=w, height=h)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model_build.synth.bench")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--sizes", default="1000,1500,3000")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--repeat", type=int, default=1, help="runs per spec; the fastest counts")
    a = ap.parse_args(argv)
    specs = [sample_spec(i, a.seed, "train") for i in range(a.n)]
    render_spec(_resized(specs[0], 1000))  # warm-up: imports, noise tables, photo cache
    for size in (int(s) for s in a.sizes.split(",")):
        render_ms, encode_ms = [], []
        for spec in specs:
            best_r = best_e = float("inf")
            for _ in range(max(1, a.repeat)):
                t0 = time.process_time()
                sample = render_spec(_resized(spec, size))
                t1 = time.process_time()
                encode(sample)
                best_r = min(best_r, 1000 * (t1 - t0))
                best_e = min(best_e, 1000 * (time.process_time() - t1))
            render_ms.append(best_r)
            encode_ms.append(best_e)
        q = statistics.quantiles(render_ms, n=10)
        print(f"{size:>5} px  render median {statistics.median(render_ms):6.0f} ms  (p10 {q[0]:.0f}, p90 {q[-1]:.0f}, "
              f"mean {statistics.mean(render_ms):.0f})  encode median {statistics.median(encode_ms):4.0f} ms  n={a.n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
