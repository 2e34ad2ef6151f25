"""`screener invoke FUNCTION --event FILE`: a Docker-free stand-in for `sam local invoke`.

Reads template.yaml, resolves the function's code, handler, layers and environment (Parameter
defaults, overridable with --parameter-overrides K=V), and runs the handler in a fresh Python
process with the layers' python roots on sys.path as Lambda does. MODEL_DIR points at the local
model layer (layers/model). AWS_ENDPOINT_URL, credentials and region pass through, so the
function talks to moto server, SeaweedFS, MinIO or real S3. The installed virtualenv stands in
for the runtime layer (it holds the same pinned packages) and for the runtime's boto3.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .template import FunctionSpec, load_template, resolve_function

ROOT = Path(__file__).resolve().parents[2]
LOCAL_MODEL_DIR = ROOT / "layers" / "model"


@dataclass(frozen=True)
class InvokeResult:
    init_ms: float
    invocations: list[dict[str, Any]]  # {ok, response | errorType/errorMessage, duration_ms}
    returncode: int
    screener_module: str | None = None


def lambda_environment(spec: FunctionSpec, model_dir: Path, base: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA_", "_HANDLER"))}
    region = base.get("AWS_REGION") or base.get("AWS_DEFAULT_REGION") or "us-east-1"
    env.update(spec.environment)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(spec.code_dir.resolve()),
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "MODEL_DIR": str(model_dir),  # the model layer's /opt/model, locally
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    # No X-Ray daemon locally; a caller may still turn tracing on explicitly.
    env.setdefault("POWERTOOLS_TRACE_DISABLED", base.get("POWERTOOLS_TRACE_DISABLED", "true"))
    env.pop("PYTHONPATH", None)
    return env


def invoke(function: str, events: Sequence[dict], *, template: Path | str = ROOT / "template.yaml",
           overrides: Mapping[str, str] | None = None, model_dir: Path | str | None = None,
           env: Mapping[str, str] | None = None, log_file: Path | str | None = None,
           timeout_s: float | None = None) -> InvokeResult:
    """Run ``events`` through one fresh handler process (cold start once, then warm calls)."""
    template = Path(template)
    spec = resolve_function(load_template(template), function, overrides or {}, root=template.parent,
                            region=(env or os.environ).get("AWS_REGION", "us-east-1"))
    mdir = Path(model_dir) if model_dir else LOCAL_MODEL_DIR
    with tempfile.TemporaryDirectory(prefix="screener-invoke-") as tmp:
        spec_file, results_file = Path(tmp) / "spec.json", Path(tmp) / "results.json"
        spec_file.write_text(json.dumps({
            "function_name": spec.name, "handler": spec.handler, "memory": spec.memory, "timeout": spec.timeout,
            "code_dir": str(spec.code_dir.resolve()), "layer_dirs": [str(d.resolve()) for d in spec.layer_dirs],
            "events": list(events), "results": str(results_file),
        }))
        child_env = lambda_environment(spec, mdir.resolve(), env if env is not None else os.environ)
        log = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
        try:
            proc = subprocess.run([sys.executable, "-m", "screener_cli.lambda_runner", str(spec_file)],
                                  env=child_env, stdout=log, stderr=log, timeout=timeout_s,
                                  cwd=str(spec.code_dir.resolve()))
        finally:
            if log:
                log.close()
        if not results_file.exists():
            return InvokeResult(0.0, [{"ok": False, "errorType": "InitError",
                                       "errorMessage": f"handler process exited {proc.returncode}"}],
                                proc.returncode)
        data = json.loads(results_file.read_text())
    return InvokeResult(data["init_ms"], data["invocations"], proc.returncode, data.get("screener_module"))


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``Key=Value`` pairs; the value may itself contain '=' (e.g. the policy JSON)."""
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise SystemExit(f"--parameter-overrides expects Key=Value, got {item!r}")
        out[k] = v
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("invoke", help="run a template function's handler locally on event files (no Docker)")
    p.add_argument("function", help="logical id in template.yaml, e.g. UploadFunction")
    p.add_argument("--event", "-e", action="append", required=True, help="event JSON file (repeat for several)")
    p.add_argument("--template", "-t", default=str(ROOT / "template.yaml"))
    p.add_argument("--parameter-overrides", nargs="+", default=[], metavar="KEY=VALUE")
    p.add_argument("--model-dir", help=f"model layer directory (default {LOCAL_MODEL_DIR.relative_to(ROOT)})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    events = [json.loads(Path(e).read_text()) for e in args.event]
    res = invoke(args.function, events, template=args.template, overrides=parse_overrides(args.parameter_overrides),
                 model_dir=args.model_dir)
    print(f"# init {res.init_ms:.0f} ms", file=sys.stderr)
    failed = False
    for inv in res.invocations:
        print(json.dumps(inv.get("response") if inv["ok"] else
                         {k: inv[k] for k in ("errorType", "errorMessage", "stackTrace") if k in inv}, indent=2))
        print(f"# {'ok' if inv['ok'] else 'error'} in {inv.get('duration_ms', 0):.0f} ms", file=sys.stderr)
        failed |= not inv["ok"]
    return 1 if failed or res.returncode else 0
