"""Export the network to ONNX (fp32), check it, and compare ONNX Runtime against torch."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, numpy_helper

from screener.classifier import session_options

from .input_spec import IMAGE_INPUT, QUALITY_INPUT, SIZE
from .network import OUTPUT_NAMES, ScreenerNet

OPSET = 17


def export_onnx(net: ScreenerNet, path: Path, n_quality: int) -> Path:
    """Write the fp32 model with a dynamic batch axis; run the ONNX checker on it."""
    net.eval()
    image = torch.zeros(1, 3, SIZE, SIZE)
    quality = torch.zeros(1, n_quality)
    axes = {name: {0: "N"} for name in (IMAGE_INPUT, QUALITY_INPUT, *OUTPUT_NAMES)}
    buf = io.BytesIO()
    with torch.no_grad():
        # The TorchScript exporter: the dynamo exporter needs onnxscript, which is not a dependency.
        torch.onnx.export(
            net, (image, quality), buf, dynamo=False, opset_version=OPSET,
            input_names=[IMAGE_INPUT, QUALITY_INPUT], output_names=list(OUTPUT_NAMES),
            dynamic_axes=axes, do_constant_folding=True,
        )
    model = clean_export(buf.getvalue())
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def clean_export(model_bytes: bytes) -> onnx.ModelProto:
    """What every exported graph goes through before quantisation: constant folding, then the
    TF-"same" Pads folded into their Convs."""
    return fold_pads_into_convs(_constant_fold(model_bytes))


def _constant_fold(model_bytes: bytes) -> onnx.ModelProto:
    """ONNX Runtime's basic (hardware-independent) graph optimisations: constant folding and
    redundant-node removal. The exporter emits the static TF-"same" pads as a chain of shape
    ops; folding turns them into constants."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "basic.onnx"
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(out)
        so.log_severity_level = 3
        ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])
        return onnx.load(str(out))


def fold_pads_into_convs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Merge each constant zero Pad that feeds only a Conv into the Conv's (asymmetric) pads.

    ONNX's Conv takes separate begin/end pads, which torch's conv cannot express, so the
    exporter writes TF-"same" padding as Pad + Conv. Left alone, the Pad stays fp32 in the
    quantised graph, wrapped in Dequantize/Quantize nodes on the largest activations (the stem
    and the stride-2 depthwise convs): about a fifth of INT8 latency for nothing.
    """
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    drop = []
    for pad in g.node:
        if pad.op_type != "Pad" or pad.input[1] not in inits:
            continue
        mode = next((a.s.decode() for a in pad.attribute if a.name == "mode"), "constant")
        value = 0.0
        if len(pad.input) > 2 and pad.input[2]:
            if pad.input[2] not in inits:
                continue
            value = float(numpy_helper.to_array(inits[pad.input[2]]))
        pads = numpy_helper.to_array(inits[pad.input[1]]).tolist()
        users = consumers.get(pad.output[0], [])
        if mode != "constant" or value != 0.0 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
            continue
        if len(users) != 1 or users[0].op_type != "Conv" or pad.output[0] in {o.name for o in g.output}:
            continue
        conv = users[0]
        old = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        if any(a.name == "auto_pad" and a.s not in (b"", b"NOTSET") for a in conv.attribute):
            continue
        new = [old[0] + pads[2], old[1] + pads[3], old[2] + pads[6], old[3] + pads[7]]
        keep = [a for a in conv.attribute if a.name != "pads"]
        del conv.attribute[:]
        conv.attribute.extend(keep + [helper.make_attribute("pads", new)])
        conv.input[0] = pad.input[0]
        drop.append(pad)
    for n in drop:
        g.node.remove(n)
    used = {i for n in g.node for i in n.input}
    for name in [k for k in inits if k not in used]:
        g.initializer.remove(inits[name])
    return model


def session(model: Path | bytes, threads: int = 1) -> ort.InferenceSession:
    """The serving session options (``screener.classifier.session_options``: exact INT8 sums
    where this CPU needs them), so a shared INT8 weight must be separated first (serving_graph.py)."""
    so = session_options(threads)
    so.log_severity_level = 3
    src = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(src, sess_options=so, providers=["CPUExecutionProvider"])


def run_onnx(sess: ort.InferenceSession, pixels: np.ndarray, quality: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    """All outputs for (N,3,224,224) pixels and (N,11) quality features, batched."""
    outs: dict[str, list[np.ndarray]] = {k: [] for k in OUTPUT_NAMES}
    for s in range(0, len(pixels), batch):
        res = sess.run(list(OUTPUT_NAMES), {IMAGE_INPUT: pixels[s : s + batch], QUALITY_INPUT: quality[s : s + batch]})
        for k, v in zip(OUTPUT_NAMES, res):
            outs[k].append(v)
    return {k: np.concatenate(v) for k, v in outs.items()}


@torch.no_grad()
def run_torch(net: ScreenerNet, pixels: np.ndarray, quality: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    net.eval()
    outs: dict[str, list[np.ndarray]] = {k: [] for k in OUTPUT_NAMES}
    for s in range(0, len(pixels), batch):
        res = net(torch.from_numpy(pixels[s : s + batch]), torch.from_numpy(quality[s : s + batch]))
        for k, v in zip(OUTPUT_NAMES, res):
            outs[k].append(v.numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def max_abs_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(np.abs(a[k] - b[k]).max()) for k in a}


def parity_torch_vs_onnx(net: ScreenerNet, onnx_path: Path, pixels: np.ndarray, quality: np.ndarray) -> dict[str, float]:
    """Max |ORT fp32 - torch| per output on the given inputs."""
    return max_abs_diff(run_onnx(session(onnx_path, threads=2), pixels, quality), run_torch(net, pixels, quality))
