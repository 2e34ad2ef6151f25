"""The INT8 graph as ONNX Runtime fuses it at load, fused once at build time instead.

A QDQ model wraps every float op in QuantizeLinear/DequantizeLinear (382 nodes for the shipped
model); every session fuses them into QLinearConv/QGemm/QLinearAdd (99 nodes, ORT's "extended"
level) before it can run, and that is about half of session creation: 54 ms for the shipped
model against 31 ms for the fused graph, measured here (thread CPU, median of 3). Saving the fused graph moves that work from every cold
start to the build.

Only the hardware-independent levels are saved. The layout level (NCHWc) is specific to the CPU
it ran on, so serving still applies it at load; ORT warns when a model is saved above
"extended". The fused graph must compute exactly what the QDQ graph computes under the serving
session options: ``fuse`` checks that bit for bit before anything ships it.

One more rewrite follows, ``separate_shared_weights``. The trained heads read block 15's copy
through the backbone's own head conv, and the zero-shot category path reads the original block
15 through that same conv. So one INT8 weight feeds two QLinearConvs. Serving asks ONNX Runtime for
exact INT8 sums on CPUs without VNNI (``screener.classifier.session_options``). That rewrite
converts each quantised conv's weights to U8, and it fails on a weight shared by two convs
("Attempt to replace the existing tensor"). Storing the weight twice would cost 0.4 MiB and break
the 6 MiB budget. So the category path's conv is rewritten to run in float over the same INT8
weights (Cast, then scaled per channel), and the heads' conv stays as it was. Only outputs that
read the category path move: the category's probabilities (by at most ~0.02), and the background
when its head reads the pretrained pooled features (``TrainConfig.background_reads_pretrained``,
off by default). Every other output stays bit for bit the same. The build evaluates the
separated file, so every figure is the shipped graph's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from screener.classifier import session_options

from .input_spec import IMAGE_INPUT, QUALITY_INPUT
from .quantize import HEAD_SCOPES


def _session(model: Path, level: ort.GraphOptimizationLevel, save_to: Path | None = None,
             exact_int8: bool = False) -> ort.InferenceSession:
    """``exact_int8`` off by default: the QDQ and fused graphs still share a weight (module doc)."""
    so = session_options(1, exact_int8=exact_int8)
    so.graph_optimization_level = level
    if save_to is not None:
        so.optimized_model_filepath = str(save_to)
    return ort.InferenceSession(str(model), sess_options=so, providers=["CPUExecutionProvider"])


def fuse(qdq: Path, out: Path, pixels: np.ndarray, quality: np.ndarray) -> Path:
    """Write ``qdq`` fused at ORT's extended level to ``out``; check it on the given inputs.

    Raises ValueError if any output differs in any bit from the QDQ graph's under the serving
    session options (which then fuse and lay out the graph themselves)."""
    _session(qdq, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, save_to=out)
    served, fused = (_session(p, ort.GraphOptimizationLevel.ORT_ENABLE_ALL) for p in (qdq, out))
    for i in range(len(pixels)):
        feed = {IMAGE_INPUT: pixels[i : i + 1], QUALITY_INPUT: quality[i : i + 1]}
        for o, a, b in zip(served.get_outputs(), served.run(None, feed), fused.run(None, feed)):
            if not np.array_equal(a, b):
                raise ValueError(f"fused graph differs from the QDQ graph on output {o.name}, input {i}: "
                                 f"max |diff| {float(np.abs(a - b).max()):.3g}")
    return out


def _float_conv(node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """A QLinearConv as DequantizeLinear -> float Conv -> QuantizeLinear, its INT8 weight read
    through Cast and a per-channel scale (a DequantizeLinear of a shared weight would be rewritten
    twice, like the QLinearConv). Same inputs and output names: the consumers are untouched."""
    x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp = node.input[:8]
    if numpy_helper.to_array(inits[w_zp]).any():
        raise ValueError(f"{node.name}: expected symmetric INT8 weights (zero point 0)")
    p = node.name
    scale = numpy_helper.to_array(inits[w_scale]).astype(np.float32)
    new_inits = [numpy_helper.from_array(scale.reshape(-1, 1, 1, 1), p + "/w_scale_nchw")]
    nodes = [
        helper.make_node("DequantizeLinear", [x, x_scale, x_zp], [p + "/x_float"], name=p + "/dequantize_x"),
        helper.make_node("Cast", [w], [p + "/w_cast"], name=p + "/cast_w", to=TensorProto.FLOAT),
        helper.make_node("Mul", [p + "/w_cast", p + "/w_scale_nchw"], [p + "/w_float"], name=p + "/scale_w"),
    ]
    conv_in = [p + "/x_float", p + "/w_float"]
    if len(node.input) > 8 and node.input[8]:  # int32 bias at scale x_scale * w_scale
        bias = numpy_helper.to_array(inits[node.input[8]]).astype(np.float32)
        bias_scale = numpy_helper.to_array(inits[x_scale]).astype(np.float32) * scale
        new_inits.append(numpy_helper.from_array((bias * bias_scale).astype(np.float32), p + "/b_float"))
        conv_in.append(p + "/b_float")
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    nodes += [
        helper.make_node("Conv", conv_in, [p + "/y_float"], name=p + "/conv_float", **attrs),
        helper.make_node("QuantizeLinear", [p + "/y_float", y_scale, y_zp], [node.output[0]], name=p + "/quantize_y"),
    ]
    return nodes, new_inits


# A rewritten conv's output is re-quantised at its calibrated scale, so what reads it moves by a
# rounding step or so; more than this would mean the rewrite computes something else.
MOVED_OUTPUT_LIMIT = 0.05


def _downstream(graph: onnx.GraphProto, tensors: set[str]) -> set[str]:
    """Every tensor computed from ``tensors`` (nodes are in topological order)."""
    reached = set(tensors)
    for node in graph.node:
        if reached.intersection(node.input):
            reached.update(node.output)
    return reached


def separate_shared_weights(fused: Path, out: Path, pixels: np.ndarray, quality: np.ndarray) -> tuple[Path, dict]:
    """Write ``fused`` to ``out`` with no INT8 weight shared by two QLinearConvs (module doc): every
    sharer outside the trained heads becomes a float conv over the same weight.

    Checks on the given inputs, with the same kernels on both sides, that every output the
    rewritten convs do not feed is bit for bit unchanged, that the probabilities of those they
    feed (other than the category) move by at most ``MOVED_OUTPUT_LIMIT``, and that the result
    loads with exact INT8 sums. Returns the rewritten nodes and each moved output's largest change."""
    model = onnx.load(str(fused))
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    # Every reader of each QLinearConv weight: where ORT leaves a conv unfused (int8 activations),
    # the other reader is the DequantizeLinear of that conv's QDQ group.
    weights = {n.input[3] for n in g.node if n.op_type == "QLinearConv" and n.input[3] in inits}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in g.node:
        for name in set(node.input) & weights:
            readers.setdefault(name, []).append(node)
    rewritten, rewritten_outputs = [], set()
    for nodes in readers.values():
        if len(nodes) < 2:
            continue
        for node in [n for n in nodes if n.op_type == "QLinearConv" and not any(sc in n.name for sc in HEAD_SCOPES)]:
            new_nodes, new_inits = _float_conv(node, inits)
            at = list(g.node).index(node)
            g.node.remove(node)
            for k, n in enumerate(new_nodes):
                g.node.insert(at + k, n)
            g.initializer.extend(new_inits)
            rewritten.append(node.name)
            rewritten_outputs.add(node.output[0])  # the replacement writes the same tensor
    used = {i for n in g.node for i in n.input}
    for init in [t for t in g.initializer if t.name not in used]:  # the replaced convs' int32 biases
        g.initializer.remove(init)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    fed = _downstream(g, rewritten_outputs)
    moved = {o.name: 0.0 for o in g.output if o.name in fed}
    before, after = (_session(p, ort.GraphOptimizationLevel.ORT_ENABLE_ALL) for p in (fused, out))
    _session(out, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, exact_int8=True)  # what a CPU without VNNI loads
    for i in range(len(pixels)):
        feed = {IMAGE_INPUT: pixels[i : i + 1], QUALITY_INPUT: quality[i : i + 1]}
        for o, a, b in zip(before.get_outputs(), before.run(None, feed), after.run(None, feed)):
            if o.name in moved:
                moved[o.name] = max(moved[o.name], float(np.abs(a - b).max()))
            elif not np.array_equal(a, b):
                raise ValueError(f"separating shared weights changed output {o.name} on input {i}")
    for name, diff in moved.items():
        if name != "category" and diff > MOVED_OUTPUT_LIMIT:
            raise ValueError(f"separating shared weights moved output {name} by {diff:.3g}")
    return out, {"float_convs": rewritten, "category_max_abs_diff": moved.get("category", 0.0),
                 "moved_max_abs_diff": moved}
