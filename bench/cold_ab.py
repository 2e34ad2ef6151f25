"""Paired cold-start A/B between source trees: python -m bench.cold_ab N core|handler TREE[+VAR=value ...] ...

Each TREE is a checkout of this repository (e.g. ``git archive <commit> | tar -x -C TREE``). Its
``bench/child.py`` runs in a fresh interpreter with that tree's own ``layers/core`` first on the
path and the upload function's environment from that tree's ``template.yaml``; ``+VAR=value``
overrides one variable (``TREE+ORT_DISABLE_TELEMETRY=0``). Runs alternate tree by tree, N
rounds, so a change in the machine's load falls on every variant alike; prints the medians.
The model is this checkout's unless ``+MODEL_DIR=path`` names another, so by default only the
code and the environment differ.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

from .cold import KEYS, run_child

MODEL_DIR = Path("layers/model").resolve()


def run(spec: str, photo: Path, handler: bool) -> dict:
    tree, *pairs = spec.split("+")
    overrides = dict(o.split("=", 1) for o in pairs)
    model = Path(overrides.pop("MODEL_DIR", MODEL_DIR)).resolve()
    try:
        return run_child(model, photo, handler, tree=Path(tree).resolve(), overrides=overrides)
    except RuntimeError as e:
        raise RuntimeError(f"{spec}: {e}") from e


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] not in ("core", "handler"):
        print(__doc__, file=sys.stderr)
        return 2
    from .images import photo

    rounds, handler, specs = int(argv[0]), argv[1] == "handler", argv[2:]
    path = Path(".cache/bench/cold_ab.jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(photo("JPEG", 3000, 0).data)
    figs: dict[str, list[dict]] = {s: [] for s in specs}
    for _ in range(rounds):
        for s in specs:
            figs[s].append(run(s, path.resolve(), handler))
    for s, f in figs.items():
        print(s, argv[1], {k: round(statistics.median(x[k] for x in f), 1) for k in KEYS})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
