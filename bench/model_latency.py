"""The shipped INT8 model against a plain EfficientNet-Lite0 INT8, timed in the same rounds.

Issue 2's latency target (<= 2.5 ms, "measured here: 2.0 ms") is an absolute figure for the plain
network on a quiet machine; on this shared 2-core machine absolute times move 2-5x with load. So
this builds the plain network (backbone + ImageNet FC, the same pretrained weights) and
quantises it the way the issue's 2.0 ms was measured (static QDQ, per-channel, U8S8), then times
both on the same prepared photos, interleaved, one ORT thread, batch 1, in thread CPU time, and
prints the ratio. Absolute times also depend on the process: the same session measured 4.4 ms in
a fresh interpreter and 5.8-7.4 ms here after torch and the quantiser had run (a child process
builds the plain model, which narrowed but did not close that gap), so read the ratio. Needs torch (model_build's requirements), no AWS.

    .venv/bin/python -m bench.model_latency [--model-dir layers/model] [--rounds 15]
"""
from __future__ import annotations

import argparse
import io
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def plain_lite0_int8(work: Path, calibration: list[np.ndarray]) -> Path:
    import torch
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    import onnx

    from model_build.efficientnet_lite import load_pretrained
    from model_build.export import _constant_fold, fold_pads_into_convs

    fp32, pre, int8 = work / "plain.fp32.onnx", work / "plain.pre.onnx", work / "plain.int8.onnx"
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(load_pretrained().eval(), torch.zeros(1, 3, 224, 224), buf, input_names=["image"],
                          output_names=["logits"], opset_version=17, dynamo=False)
    # The same clean-up the shipped model gets (constant folding, TF-"same" Pads folded into the
    # Convs), so the two differ only in the heads, not in how they were exported.
    onnx.save(fold_pads_into_convs(_constant_fold(buf.getvalue())), str(fp32))
    quant_pre_process(str(fp32), str(pre))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"image": p} for p in calibration])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(pre), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return int8


def prepared_photos(model_dir: Path, n: int):
    """n synthetic catalog photos through the serving decode and ``prepare``."""
    from model_build.synth import encode, render_sample
    from screener import decode, preprocess
    from screener.manifest import load_manifest

    manifest, _ = load_manifest(model_dir)
    out = []
    for i in range(n):
        im, header = decode.read_header(encode(render_sample(i, 7, "train")))
        out.append(preprocess.prepare(decode.decode_rgb(im, manifest.input.analysis_size), header, manifest.input))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=Path("layers/model"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--photos", type=int, default=24)
    args = ap.parse_args(argv)

    import onnxruntime as ort

    from screener.classifier import session_options

    photos = prepared_photos(args.model_dir, args.photos)
    with tempfile.TemporaryDirectory() as tmp:
        # Built in a child process: torch's thread pool and the calibration sessions'
        # spinning threads would otherwise share the timed process (~1.3-1.6x on both models).
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            plain_path = pool.apply(plain_lite0_int8, (Path(tmp), [p.pixels for p in photos]))
        opts = dict(sess_options=session_options(1), providers=["CPUExecutionProvider"])
        shipped = ort.InferenceSession(str(args.model_dir / "model.onnx"), **opts)
        plain = ort.InferenceSession(str(plain_path), **opts)
    q_name = next(i.name for i in shipped.get_inputs() if i.name != "image")
    runs = {"shipped": (shipped, [{"image": p.pixels, q_name: p.quality} for p in photos]),
            "plain": (plain, [{"image": p.pixels} for p in photos])}
    for sess, feeds in runs.values():
        for f in feeds[:5]:
            sess.run(None, f)
    ms: dict[str, list[float]] = {k: [] for k in runs}
    ratios = []
    for _ in range(args.rounds):
        for name, (sess, feeds) in runs.items():
            t = time.thread_time()
            for f in feeds:
                sess.run(None, f)
            ms[name].append((time.thread_time() - t) / len(feeds) * 1000)
        ratios.append(ms["shipped"][-1] / ms["plain"][-1])
    print(f"shipped INT8 model  {statistics.median(ms['shipped']):.2f} ms/photo")
    print(f"plain Lite0 INT8    {statistics.median(ms['plain']):.2f} ms/photo")
    print(f"shipped / plain     {statistics.median(ratios):.2f}x   "
          f"(thread CPU, 1 ORT thread, batch 1, median of {args.rounds} rounds x {len(photos)} photos)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
