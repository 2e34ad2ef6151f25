"""python -m bench.layer: the runtime layer's unzipped size before and after the prune, and proof
that the pruned layer still serves (``make layer-size``; needs pip's index and a python3.12).

Builds with the same Makefile steps as ``sam build`` (layers/runtime: install, then prune), sums
file sizes as Lambda counts them (unzipped bytes), adds the core and model layers, and runs
bench/layer_smoke.py against the pruned layer under python3.12. Writes .cache/bench/layer-size.json,
which ``make bench`` prints in its targets table.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .table import table

OUT = Path(".cache/bench/layer")
FIGURE = Path(".cache/bench/layer-size.json")
MIB = 1 << 20


def tree_mb(path: Path, skip: tuple[str, ...] = ()) -> float:
    """Unzipped size as Lambda counts it: the bytes of every file."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in skip]
        total += sum(os.lstat(os.path.join(root, f)).st_size for f in files)
    return total / MIB


def _make(target: str, site: Path, py312: str) -> None:
    subprocess.run(["make", "--no-print-directory", "-C", "layers/runtime", target, f"SITE={site.resolve()}",
                    f"PYTHON={sys.executable}", f"PY312={py312}"], check=True)


def main() -> int:
    from .models import resolve

    py312 = os.environ.get("LAYER_PYTHON", "python3.12")
    shutil.rmtree(OUT, ignore_errors=True)
    raw, pruned = OUT / "raw" / "python", OUT / "pruned" / "python"
    _make("install", raw, py312)
    shutil.copytree(raw, pruned, symlinks=True)
    _make("prune", pruned, py312)
    pruned_mb = tree_mb(pruned)
    _make("compile", pruned, py312)
    model_dir = resolve().model_dir
    core_mb = tree_mb(Path("layers/core"), skip=("__pycache__",))
    model_mb = sum((model_dir / f).stat().st_size for f in ("model.onnx", "manifest.json")) / MIB
    # -B: like Lambda's read-only /opt, nothing new is cached; the layer's own byte-code is used.
    smoke = subprocess.run([py312, "-I", "-S", "-B", "bench/layer_smoke.py", str(pruned.resolve()),
                            str(Path("layers/core").resolve()), str(model_dir.resolve())],
                           capture_output=True, text=True, check=False)
    if smoke.returncode != 0:
        print(smoke.stdout, smoke.stderr, file=sys.stderr)
        raise SystemExit(f"the pruned layer failed its smoke test under {py312}")
    result = json.loads(smoke.stdout.strip().splitlines()[-1])
    fig = {"raw_mb": tree_mb(raw), "pruned_no_bytecode_mb": pruned_mb, "pruned_mb": tree_mb(pruned),
           "core_mb": core_mb, "model_mb": model_mb, "model": str(model_dir), "smoke": result}
    fig["all_layers_mb"] = fig["pruned_mb"] + core_mb + model_mb
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    FIGURE.write_text(json.dumps(fig, indent=1))
    print(table(["layer (unzipped, MiB)", "size"], [
        ["runtime, as pip installs it", fig["raw_mb"]], ["runtime, pruned", pruned_mb],
        ["runtime, pruned + 3.12 byte-code (what ships)", fig["pruned_mb"]],
        ["core (screener package)", core_mb], [f"model ({model_dir})", model_mb],
        ["all three layers", fig["all_layers_mb"]], ["Lambda's limit, function + layers", 250.0],
    ]))
    print(f"\nsmoke test under Python {result['python']}: onnxruntime {result['onnxruntime']}, numpy {result['numpy']}, "
          f"imports {result['imports_ms']:.0f} ms (shipped byte-code), verdicts {result['verdicts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
