"""Backfill figures for the README: throughput, latency split, peak memory, 85k projection and cost.

    .venv/bin/python bench/backfill_bench.py [--rounds 3] [--objects 300] [--model-dir layers/model]

Everything runs on this machine against moto server (S3 + SQS) on loopback, through the real
BackfillFunction handler as template.yaml configures it:

1. throughput: a seed message for N objects (1500x1500 noisy JPEGs), drained by the local SQS
   event source mapping with one execution environment (a fresh process) - objects/s from the
   seed to the last report part, median of the rounds. Each round is a new run with --force, so
   every object is screened again.
2. latency split: the per-object stage times the worker records in the report parts (fetch =
   HEAD + tags + GET on the I/O threads; decode; prepare; infer; tag on the I/O threads),
   medians over every object of every round.
3. peak memory: one invocation in a fresh process with the template's environment, on one SQS
   batch as the template configures it (BatchSize work messages x BACKFILL_KEYS_PER_MESSAGE
   objects) of 3000x3000 JPEGs; peak RSS from the kernel (VmHWM), after init and after the batch.
4. projection: 85,000 photos on Lambda at the template's reserved concurrency, from the
   measured single-core compute per object (decode + prepare + infer; S3 I/O overlaps it on the
   I/O threads), with the Lambda, SQS and S3 prices stated below.

The machine is shared and noisy: only medians are printed, with the spread.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Prices (us-east-1, on demand, no free tier), as stated in the README.
LAMBDA_GB_S = 0.0000166667  # x86
LAMBDA_PER_REQUEST = 0.20 / 1e6
SQS_PER_REQUEST = 0.40 / 1e6  # standard queue, per 64 KB chunk
S3_PUT_CLASS = 0.005 / 1000  # PUT, COPY, POST, LIST; PutObjectTagging is PUT-class
S3_GET_CLASS = 0.0004 / 1000  # GET, HEAD, GetObjectTagging
REKOGNITION_PER_1000 = 1.00  # DetectLabels, first pricing tier
CATALOG = 85_000


def photo(side: int, seed: int) -> bytes:
    """A noisy product-like photo: light backdrop, a textured shape, sensor noise; JPEG q90 4:2:0.

    Noise matters: decode cost follows entropy, and real 3000 px catalog photos are 1-2 MB."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    base = 235 - 25 * y  # studio sweep
    img = np.repeat(base[..., None], 3, axis=2)
    cx, cy, r = 0.5 + 0.1 * rng.uniform(-1, 1), 0.55, 0.25 + 0.1 * rng.uniform()
    inside = ((x - cx) ** 2 + ((y - cy) * 1.3) ** 2) < r * r
    colour = rng.uniform(40, 200, 3).astype(np.float32)
    stripes = 20 * np.sin(x * side / (8 + 8 * rng.uniform()))
    img[inside] = colour + stripes[inside][:, None]
    img += rng.normal(0, 4.0, img.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").save(buf, "JPEG", quality=90, subsampling=2)
    return buf.getvalue()


def photo_set(side: int, n_distinct: int) -> list[bytes]:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda i: photo(side, 1000 * side + i), range(n_distinct)))


def moto_env():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_PROFILE", None)
    return server


def upload(s3, bucket: str, prefix: str, photos: list[bytes], n: int) -> list[str]:
    keys = [f"{prefix}SKU-{i:06d}.jpg" for i in range(n)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda ik: s3.put_object(Bucket=bucket, Key=ik[1], Body=photos[ik[0] % len(photos)],
                                               ContentType="image/jpeg"), enumerate(keys)))
    return keys


def template_spec():
    from screener_cli.backfill_local import FUNCTION
    from screener_cli.template import load_template, resolve_function

    return resolve_function(load_template(ROOT / "template.yaml"), FUNCTION, root=ROOT)


def bench_throughput(args, s3, bucket: str) -> dict:
    import boto3

    from screener.backfill.report import STAGES
    from screener.backfill.runs import RunReader
    from screener.s3_objects import S3Objects
    from screener_cli.backfill_local import LocalFunction, seed_body

    photos = photo_set(1500, 24)
    upload(s3, bucket, "tp/", photos, args.objects)
    mb = sum(len(p) for p in photos) / len(photos) / 1e6
    local = LocalFunction(model_dir=Path(args.model_dir), concurrency=1, visibility_timeout=60,
                          log=ROOT / ".cache" / "bench" / "backfill.log")
    local.log.parent.mkdir(parents=True, exist_ok=True)
    sqs = boto3.client("sqs")
    queue_url, dlq_url = local.ensure_queues(sqs)
    rates, stage_ms, inits = [], {s: [] for s in STAGES + ("total",)}, []
    for r in range(args.rounds):
        run_id = f"bench-{int(time.time())}-{r}"
        sqs.send_message(QueueUrl=queue_url, MessageBody=seed_body(bucket, "tp/", "tag", run_id, r > 0))
        t0 = time.perf_counter()
        stats = local.run(queue_url, dlq_url, max_seconds=1800)
        reader = RunReader(S3Objects(s3), bucket, run_id)
        reader.refresh()
        rows = [x for x in reader.results() if x.status.value == "screened"]
        # The environment's cold start (imports + model) happens once per container, not per run.
        wall = time.perf_counter() - t0 - stats[0]["init_ms"] / 1000
        inits.append(stats[0]["init_ms"])
        rates.append(len(rows) / wall)
        for x in rows:
            for s in STAGES:
                stage_ms[s].append(getattr(x.timings, s))
            stage_ms["total"].append(x.timings.total)
        print(f"  round {r + 1}: {len(rows)} objects screened in {wall:.1f} s -> {rates[-1]:.1f} objects/s "
              f"(cold start {stats[0]['init_ms']:.0f} ms excluded)", file=sys.stderr)
    return {
        "objects": args.objects, "photo": f"1500x1500 JPEG, {mb:.2f} MB mean", "rounds": args.rounds,
        "objects_per_s_median": round(statistics.median(rates), 2),
        "objects_per_s_all": [round(x, 2) for x in rates],
        "cold_start_ms_median": round(statistics.median(inits)),
        "stage_ms_median": {s: round(statistics.median(v), 2) for s, v in stage_ms.items() if v},
    }


def _vm_hwm_mb() -> float:
    """This process's peak RSS since exec (VmHWM; ru_maxrss would include the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(spec_path: str) -> int:
    """A fresh 'container': import the handler as Lambda would, then invoke it on one batch."""
    spec = json.loads(Path(spec_path).read_text())
    sys.path[0:0] = [spec["code_dir"], *spec["layer_dirs"]]
    import importlib

    from screener_cli.lambda_runner import LambdaContext

    t0 = time.perf_counter()
    handler = importlib.import_module("app").lambda_handler
    init_ms, init_mb = (time.perf_counter() - t0) * 1000, _vm_hwm_mb()
    ctx = LambdaContext("BackfillFunction", spec["memory"], spec["timeout"], "us-east-1")
    t0 = time.perf_counter()
    resp = handler(spec["event"], ctx)
    inv_ms, peak = round((time.perf_counter() - t0) * 1000), round(_vm_hwm_mb())
    # Fixed cost of an invocation (powertools batch processing, logging, metrics flush): a batch
    # of one s3:TestEvent record, which the function acknowledges without touching S3.
    test_event = {**spec["event"]["Records"][0], "body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})}
    fixed = []
    for _ in range(25):
        t = time.perf_counter()
        handler({"Records": [test_event]}, LambdaContext("BackfillFunction", spec["memory"], spec["timeout"], "us-east-1"))
        fixed.append((time.perf_counter() - t) * 1000)
    out = {"init_ms": round(init_ms), "init_peak_rss_mb": round(init_mb), "invocation_ms": inv_ms, "peak_rss_mb": peak,
           "response": resp, "fixed_invocation_ms_median": round(statistics.median(fixed), 2)}
    Path(spec["out"]).write_text(json.dumps(out))
    return 0


def bench_memory(args, s3, bucket: str) -> dict:
    import subprocess
    import tempfile

    from screener.backfill.messages import Listing, Mode, Rules, Scope
    from screener.backfill.plan import entries_for, plan_page
    from screener_cli.invoke import lambda_environment

    spec = template_spec()
    (event,) = spec.events.values()
    batch = int(event["Properties"]["BatchSize"])
    per_msg = int(spec.environment["BACKFILL_KEYS_PER_MESSAGE"])
    photos = photo_set(3000, 12)
    keys = upload(s3, bucket, "mem/", photos, batch * per_msg)
    scope = Scope(bucket, "mem/", Mode.TAG, f"mem-{int(time.time())}", True)
    plan = plan_page(Listing(scope), [{"Key": k, "Size": 0} for k in keys], None, per_msg, Rules(frozenset({bucket})))
    records = [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": e.body, "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:backfill", "awsRegion": "us-east-1"}
               for i, e in enumerate(entries_for(plan))]
    env = lambda_environment(spec, Path(args.model_dir).resolve(), os.environ)
    env["BACKFILL_QUEUE_URL"] = "unused-by-work-messages"
    with tempfile.TemporaryDirectory() as tmp:
        spec_file, out_file = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_file.write_text(json.dumps({"code_dir": str(spec.code_dir.resolve()),
                                         "layer_dirs": [str(d.resolve()) for d in spec.layer_dirs],
                                         "memory": spec.memory, "timeout": spec.timeout,
                                         "event": {"Records": records}, "out": str(out_file)}))
        log = open(ROOT / ".cache" / "bench" / "backfill-memory.log", "w")  # noqa: SIM115
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--memory-child", str(spec_file)],
                       env=env, cwd=str(spec.code_dir.resolve()), stdout=log, stderr=log, check=True)
        log.close()
        res = json.loads(out_file.read_text())
    assert res["response"] == {"batchItemFailures": []}, res
    mb = sum(len(p) for p in photos) / len(photos) / 1e6
    n = batch * per_msg
    return {
        "batch": f"{batch} work messages x {per_msg} objects = {n} photos, 3000x3000 JPEG {mb:.2f} MB mean",
        "init_peak_rss_mb": res["init_peak_rss_mb"], "invocation_peak_rss_mb": res["peak_rss_mb"],
        "init_ms": res["init_ms"], "invocation_ms": res["invocation_ms"],
        "ms_per_object_in_invocation": round(res["invocation_ms"] / n, 1),
        "fixed_invocation_overhead_ms": res["fixed_invocation_ms_median"],
    }


def bench_compute(args) -> dict:
    """Single-thread screen_bytes on 1500x1500 and 3000x3000 photos: the Lambda CPU per object.

    Thread CPU time, not wall time: ORT runs on the calling thread at one intra-op thread, so CPU
    time is what one dedicated vCPU would take, whatever else this shared machine is running."""
    from screener.classifier import Classifier
    from screener.config import load_config
    from screener.screening import screen_bytes

    cfg = load_config({"MODEL_DIR": args.model_dir})
    clf = Classifier.from_dir(args.model_dir, 1)
    out = {}
    for side in (1500, 3000):
        photos = photo_set(side, 6)
        screen_bytes(photos[0], clf, cfg)  # warm-up
        cpu, wall = [], []
        for _ in range(args.rounds):
            for p in photos:
                t, c = time.perf_counter(), time.thread_time()
                screen_bytes(p, clf, cfg)
                cpu.append((time.thread_time() - c) * 1000)
                wall.append((time.perf_counter() - t) * 1000)
        mb = sum(len(p) for p in photos) / len(photos) / 1e6
        out[f"{side}x{side}"] = {"cpu_ms": round(statistics.median(cpu), 1), "wall_ms": round(statistics.median(wall), 1),
                                 "mean_mb": round(mb, 2)}
    return out


def projection(compute_ms: dict, spec) -> dict:
    """85,000 photos on Lambda: wall time at the template's concurrency and the bill."""
    (event,) = spec.events.values()
    batch = int(event["Properties"]["BatchSize"])
    per_msg = int(spec.environment["BACKFILL_KEYS_PER_MESSAGE"])
    concurrency = int(event["Properties"]["ScalingConfig"]["MaximumConcurrency"])
    gb = spec.memory / 1024
    work_msgs = -(-CATALOG // per_msg)
    pages = -(-CATALOG // 1000)
    invocations = -(-(work_msgs + pages) // batch)
    out = {"memory_mb": spec.memory, "concurrency": concurrency, "invocations": invocations}
    for size, m in compute_ms.items():
        # +15% for what the I/O threads (botocore parsing) and report writes take from the vCPU.
        per_obj_s = m["cpu_ms"] * 1.15 / 1000
        gb_s = CATALOG * per_obj_s * gb
        lam = gb_s * LAMBDA_GB_S + invocations * LAMBDA_PER_REQUEST
        # SQS: work + continuation sends (SendMessageBatch of 10 = 1 request), receives, deletes.
        sqs_req = work_msgs / 10 + pages + 2 * invocations
        # S3: HEAD + GetObjectTagging + GET per object; PutObjectTagging per object; LIST per page;
        # one report part per work message and a marker per page.
        s3 = CATALOG * 3 * S3_GET_CLASS + (CATALOG + pages + work_msgs + pages) * S3_PUT_CLASS
        total = lam + sqs_req * SQS_PER_REQUEST + s3
        out[size] = {
            "lambda_s_per_object": round(per_obj_s, 4),
            "wall_minutes": round(CATALOG * per_obj_s / concurrency / 60, 1),
            "lambda_usd": round(lam, 3), "sqs_usd": round(sqs_req * SQS_PER_REQUEST, 4), "s3_usd": round(s3, 3),
            "total_usd": round(total, 2), "usd_per_1000_photos": round(total / CATALOG * 1000, 4),
            "lambda_only_usd_per_1000": round(lam / CATALOG * 1000, 4),
            "rekognition_usd": CATALOG / 1000 * REKOGNITION_PER_1000,
            "cheaper_than_rekognition_x": round(REKOGNITION_PER_1000 / (total / CATALOG * 1000)),
        }
    return out


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        return memory_child(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--objects", type=int, default=300)
    ap.add_argument("--model-dir", default=str(ROOT / "layers" / "model"))
    ap.add_argument("--only", choices=("throughput", "memory", "compute"), action="append")
    ap.add_argument("--out", default=str(ROOT / ".cache" / "bench" / "backfill.json"))
    args = ap.parse_args()
    if not (Path(args.model_dir) / "manifest.json").is_file():
        print(f"no model at {args.model_dir}: build it (make model) or pass --model-dir", file=sys.stderr)
        return 2
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    only = set(args.only or ("throughput", "memory", "compute"))
    results: dict = {"model_dir": args.model_dir, "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}
    if "compute" in only:
        print("compute: single-thread screen_bytes per photo ...", file=sys.stderr)
        results["compute_per_object"] = bench_compute(args)
        results["projection_85k"] = projection(results["compute_per_object"], template_spec())
    if only & {"throughput", "memory"}:
        from screener.deps import s3_client

        server = moto_env()
        try:
            s3 = s3_client(os.environ, max_pool_connections=16)
            bucket = template_spec().environment["BACKFILL_BUCKETS"]
            s3.create_bucket(Bucket=bucket)
            if "memory" in only:
                print("memory: one invocation on a batch of 3000x3000 JPEGs ...", file=sys.stderr)
                results["memory"] = bench_memory(args, s3, bucket)
            if "throughput" in only:
                print(f"throughput: {args.objects} objects x {args.rounds} rounds through the local ESM ...", file=sys.stderr)
                results["throughput"] = bench_throughput(args, s3, bucket)
        finally:
            server.stop()
    results["load_avg_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
