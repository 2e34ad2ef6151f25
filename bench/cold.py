"""Cold start and peak memory, each in fresh interpreters (bench/child.py does the work), with
the upload function's environment from template.yaml."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping

KEYS = ("imports_ms", "session_ms", "first_verdict_ms", "total_ms", "cpu_ms")


def function_env(function: str = "UploadFunction", tree: Path = Path(".")) -> dict[str, str]:
    """The environment ``tree``'s template.yaml gives the function (thread counts included)."""
    from screener_cli.template import load_template, resolve_function

    return resolve_function(load_template(tree / "template.yaml"), function, root=tree).environment


def run_child(model_dir: Path, photo: Path, handler: bool = False, tree: Path | None = None,
              overrides: Mapping[str, str] | None = None) -> dict:
    """One fresh interpreter running bench/child.py. ``tree``: another checkout of this
    repository, run from its root with its own core first on the path and its own template's
    environment (bench.cold_ab); ``overrides``: variables set on top."""
    env = {**os.environ, **function_env(tree=tree or Path(".")), "MODEL_DIR": str(model_dir),
           "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
           # No X-Ray daemon here. template.yaml's XRAY_SDK_TRACING decides whether the SDK is
           # imported, as on Lambda; only sending segments is turned off.
           "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "1"}
    if tree is not None:
        env["PYTHONPATH"] = f"{tree / 'layers' / 'core'}{os.pathsep}{tree}"
    env.update(overrides or {})
    cmd = [sys.executable, "-m", "bench.child", str(model_dir), str(photo)] + (["--handler"] if handler else [])
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - t0) * 1000.0
    if out.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({out.returncode}): {out.stderr[-2000:]}")
    fig = json.loads(out.stdout.strip().splitlines()[-1])
    fig["process_ms"] = wall  # interpreter start-up and exit included
    return fig


def cold_start(model_dir: Path, photo: Path, runs: int, handler: bool = False) -> dict[str, float]:
    """Median of ``runs`` fresh processes for each figure."""
    figs = [run_child(model_dir, photo, handler) for _ in range(runs)]
    return {k: statistics.median(f[k] for f in figs) for k in (*KEYS, "process_ms")}


def peak_rss(model_dir: Path, photo: Path, handler: bool = True) -> dict[str, float]:
    """One fresh process screening one photo: RSS once the model is loaded, and the peak."""
    f = run_child(model_dir, photo, handler)
    return {"ready_mb": f["rss_ready_mb"], "peak_mb": f["rss_peak_mb"], "ru_maxrss_mb": f["ru_maxrss_mb"],
            "screen_ms": f["first_verdict_ms"]}
