"""Cold start and peak memory, each in fresh interpreters (bench/child.py does the work), with
the upload function's environment from template.yaml."""
from __future__ import annotations

import atexit
import compileall
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping

KEYS = ("imports_ms", "session_ms", "first_verdict_ms", "total_ms", "cpu_ms")
_COMPILED: dict[Path, Path] = {}


def compiled_core(tree: Path) -> Path:
    """A copy of ``tree``'s core layer with byte-code for this interpreter, as the layer ships it
    (layers/core/Makefile compiles for python3.12): the children must not pay a compile that the
    deployed function never pays (~30 ms here), nor write byte-code into the tree."""
    tree = tree.resolve()
    if tree not in _COMPILED:
        dst = Path(tempfile.mkdtemp(prefix="bench-core-"))
        atexit.register(shutil.rmtree, dst, True)
        shutil.copytree(tree / "layers" / "core" / "screener", dst / "screener",
                        ignore=shutil.ignore_patterns("__pycache__"))
        if not compileall.compile_dir(dst, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise RuntimeError(f"could not compile {dst}")
        _COMPILED[tree] = dst
    return _COMPILED[tree]


def function_env(function: str = "UploadFunction", tree: Path = Path(".")) -> dict[str, str]:
    """The environment ``tree``'s template.yaml gives the function (thread counts included)."""
    from screener_cli.template import load_template, resolve_function

    return resolve_function(load_template(tree / "template.yaml"), function, root=tree).environment


LAMBDA_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIABENCHMARKEXAMPLE", "AWS_SECRET_ACCESS_KEY": "bench-" + "0" * 34,
                      "AWS_SESSION_TOKEN": "bench-session-token"}


def run_child(model_dir: Path, photo: Path, handler: bool = False, tree: Path | None = None,
              overrides: Mapping[str, str] | None = None, floor: bool = False) -> dict:
    """One fresh interpreter running bench/child.py, with the core layer compiled as it ships.
    ``tree``: another checkout of this repository, run from its root with its own core first on
    the path and its own template's environment (bench.cold_ab); ``overrides``: variables set on
    top."""
    root = tree or Path(".")
    env = {**os.environ, **function_env(tree=root), "MODEL_DIR": str(model_dir),
           "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
           # Lambda hands the function its role's credentials in the environment, so botocore
           # finds them at once. Without them it walks the provider chain to the instance
           # metadata endpoint (~3 ms CPU here, where nothing answers). The child calls no AWS API.
           **LAMBDA_CREDENTIALS,
           # No X-Ray daemon here. template.yaml's XRAY_SDK_TRACING decides whether the SDK is
           # imported, as on Lambda; only sending segments is turned off.
           "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONPATH"] = f"{compiled_core(root)}{os.pathsep}{root.resolve()}"
    env.update(overrides or {})
    cmd = [sys.executable, "-m", "bench.child", str(model_dir), str(photo)] + (["--handler"] if handler else []) \
        + (["--floor"] if floor else [])
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - t0) * 1000.0
    if out.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({out.returncode}): {out.stderr[-2000:]}")
    fig = json.loads(out.stdout.strip().splitlines()[-1])
    fig["process_ms"] = wall  # interpreter start-up and exit included
    return fig


def cold_starts(model_dir: Path, photo: Path, runs: int) -> dict[str, dict[str, float]]:
    """Floor, core and handler, interleaved run by run so the machine's drift falls on all three;
    medians per figure, and the median per-run ratio of each path to the floor (CPU time)."""
    kinds = {"floor": {"floor": True}, "core": {}, "handler": {"handler": True}}
    figs: dict[str, list[dict]] = {k: [] for k in kinds}
    for _ in range(runs):
        for k, kw in kinds.items():
            figs[k].append(run_child(model_dir, photo, **kw))
    out = {k: {key: statistics.median(f[key] for f in fs) for key in (*KEYS, "process_ms")} for k, fs in figs.items()}
    for k in ("core", "handler"):
        out[k]["vs_floor"] = statistics.median(a["cpu_ms"] / b["cpu_ms"] for a, b in zip(figs[k], figs["floor"]))
    return out


def peak_rss(model_dir: Path, photo: Path, handler: bool = True) -> dict[str, float]:
    """One fresh process screening one photo: RSS once the model is loaded, and the peak."""
    f = run_child(model_dir, photo, handler)
    return {"ready_mb": f["rss_ready_mb"], "peak_mb": f["rss_peak_mb"], "ru_maxrss_mb": f["ru_maxrss_mb"],
            "screen_ms": f["first_verdict_ms"]}
