"""One cold container, in a fresh interpreter: imports, model session, first verdict, peak RSS.

    python -m bench.child MODEL_DIR PHOTO [--handler | --floor]

Prints one JSON line: wall ms per step, and the process's CPU ms from the first import to the
verdict (what an unshared vCPU would take, I/O waits aside). Only the standard library is imported before the clock starts, so the
import figure is the screener's own. Plain mode imports the core (numpy, Pillow, onnxruntime,
screener) and builds the classifier as the functions do; ``--handler`` imports the upload
function's module instead (adding powertools and botocore) and builds its dependencies, as Lambda's
init does. The first verdict is ``screen_bytes`` on the photo (no S3: the bytes are local).
``--floor`` is the baseline no screener can beat: numpy, Pillow and onnxruntime imported, the
model's session created with one intra-op thread, and one inference on an input prepared in
advance (zeros of the manifest's shapes); no screener code, no decode.
"""
import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402


def _rss_mb() -> float:
    """Peak RSS of this process's own address space (VmHWM).

    ``ru_maxrss`` is reported beside it, but Linux carries it over exec from the process that
    forked us: started from the benchmark (hundreds of MB of photos and models), a child would
    report its parent's peak. VmHWM belongs to the address space exec created, so it is this
    interpreter's own peak; for a process started from a shell the two agree."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    return _ru_maxrss_mb()


def _ru_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _floor(model_dir: str, t0: float, c0: float) -> None:
    import numpy as np  # noqa: PLC0415
    import onnxruntime as ort  # noqa: PLC0415
    import PIL.Image  # noqa: F401, PLC0415

    t1 = time.perf_counter()
    with open(os.path.join(model_dir, "manifest.json")) as f:
        inp = json.load(f)["input"]
    feed = {inp["name"]: np.zeros((1, 3, inp["size"], inp["size"]), np.float32)}
    if inp.get("quality_features"):
        qf = inp["quality_features"]
        feed[qf["name"]] = np.zeros((1, len(qf["names"])), np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    with open(os.path.join(model_dir, "model.onnx"), "rb") as f:
        sess = ort.InferenceSession(f.read(), sess_options=so, providers=["CPUExecutionProvider"])
    t2 = time.perf_counter()
    rss_ready = _rss_mb()
    sess.run(None, feed)
    _emit(t0, t1, t2, time.perf_counter(), c0, "", rss_ready)


def _emit(t0: float, t1: float, t2: float, t3: float, c0: float, verdict: str, rss_ready: float) -> None:
    """The one JSON line: steps between the clock readings t0..t3 (start, imported, session
    ready, first verdict), the process's CPU since c0, and memory."""
    print(json.dumps({
        "cpu_ms": (time.process_time() - c0) * 1000.0,
        "imports_ms": (t1 - t0) * 1000.0,
        "session_ms": (t2 - t1) * 1000.0,
        "first_verdict_ms": (t3 - t2) * 1000.0,
        "total_ms": (t3 - t0) * 1000.0,
        "verdict": verdict,
        "rss_ready_mb": rss_ready,
        "rss_peak_mb": _rss_mb(),
        "ru_maxrss_mb": _ru_maxrss_mb(),
    }))


def main(argv: list[str]) -> None:
    model_dir, photo = argv[0], argv[1]
    handler = "--handler" in argv
    os.environ["MODEL_DIR"] = model_dir
    with open(photo, "rb") as f:
        data = f.read()
    t0, c0 = time.perf_counter(), time.process_time()
    if "--floor" in argv:
        _floor(model_dir, t0, c0)
        return
    if handler:
        sys.path.insert(0, os.path.join(os.getcwd(), "functions", "upload"))
        import app  # noqa: PLC0415 - the import is what is being timed

        from screener.screening import screen_bytes  # noqa: PLC0415

        t1 = time.perf_counter()
        deps = app.dependencies()
        clf, config = deps.classifier, deps.config
    else:
        from screener.classifier import Classifier  # noqa: PLC0415
        from screener.config import load_config  # noqa: PLC0415
        from screener.screening import screen_bytes  # noqa: PLC0415

        t1 = time.perf_counter()
        config = load_config()
        clf = Classifier.from_dir(config.model_dir, config.ort_threads)
    t2 = time.perf_counter()
    rss_ready = _rss_mb()
    result = screen_bytes(data, clf, config)
    _emit(t0, t1, t2, time.perf_counter(), c0, result.verdict.value, rss_ready)


if __name__ == "__main__":
    main(sys.argv[1:])
