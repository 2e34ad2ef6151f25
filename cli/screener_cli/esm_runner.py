"""Child process for local backfills: one Lambda 'execution environment' behind the local ESM.

Run as ``python -m screener_cli.esm_runner SPEC.json``. Like ``lambda_runner`` it puts the function
code and the layers' python roots on sys.path and imports the handler once (the cold start);
then it polls the queue through ``LocalEventSourceMapping`` until the queue is drained, invoking
the handler per batch, and writes its statistics to the file the spec names. The parent set the
environment (the template's, with the local queue URLs and AWS_ENDPOINT_URL). Several children
are several concurrent executions, each with its own model session, as on Lambda.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
from dataclasses import asdict


def main(spec_path: str) -> int:
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    sys.path[0:0] = [spec["code_dir"], *spec["layer_dirs"]]
    os.chdir(spec["code_dir"])
    import boto3

    from screener_cli.local_esm import EsmSettings, LocalEventSourceMapping

    module_name, func_name = spec["handler"].rsplit(".", 1)
    t0 = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), func_name)
    init_ms = (time.perf_counter() - t0) * 1000
    settings = EsmSettings(**spec["esm"])
    region = os.environ.get("AWS_REGION", "us-east-1")
    esm = LocalEventSourceMapping(boto3.client("sqs"), spec["queue_url"], handler, settings, region)
    stats = esm.run_until_drained(max_seconds=spec["max_seconds"], tick_s=0.5)
    with open(spec["stats"], "w", encoding="utf-8") as f:
        json.dump({"init_ms": round(init_ms, 1), **asdict(stats)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
