"""Child process for `screener invoke`: one fresh 'container' that runs a handler on events.

Run as ``python -m screener_cli.lambda_runner SPEC.json``. The spec names the handler, the
code and layer directories, the events and where to write results. Like Lambda it puts the
function code first on sys.path, then the layers' python roots, imports the handler module once
(the cold start) and invokes it once per event (warm invocations), with a context object.
The parent has already set the environment. Logs go to stdout/stderr as they would on Lambda;
results go to the file named in the spec, so they never mix with log lines.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    def __init__(self, name: str, memory: int, timeout: int, region: str):
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(spec_path: str) -> int:
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    code_dir = spec["code_dir"]
    sys.path[0:0] = [code_dir, *spec["layer_dirs"]]  # /var/task first, then /opt/python
    os.chdir(code_dir)  # Lambda's working directory is the task root
    module_name, func_name = spec["handler"].rsplit(".", 1)
    t0 = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), func_name)
    init_ms = (time.perf_counter() - t0) * 1000
    results = []
    region = os.environ.get("AWS_REGION", "us-east-1")
    for event in spec["events"]:
        ctx = LambdaContext(spec["function_name"], spec["memory"], spec["timeout"], region)
        t = time.perf_counter()
        try:
            out = {"ok": True, "response": handler(event, ctx)}
        except Exception as e:  # noqa: BLE001 - reported like Lambda's errorType/errorMessage
            out = {"ok": False, "errorType": type(e).__name__, "errorMessage": str(e),
                   "stackTrace": traceback.format_exc().splitlines()[-8:]}
        out["duration_ms"] = round((time.perf_counter() - t) * 1000, 1)
        out["request_id"] = ctx.aws_request_id
        results.append(out)
    with open(spec["results"], "w", encoding="utf-8") as f:
        json.dump({"init_ms": round(init_ms, 1), "invocations": results,
                   "screener_module": getattr(sys.modules.get("screener"), "__file__", None)}, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
