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

The last rewrite, ``space_to_depth_stem``, is for speed alone. The stem (3x3, stride 2, on three
channels) was the model's slowest conv: an INT8 GEMM over 27 products a pixel suits the kernels
badly (11 % of the model's time, measured). SpaceToDepth(2) on the quantised image, then a 2x2
stride-1 conv over 12 channels whose weights are the stem's own, rearranged, with zeros where
the 3x3 window ends, adds up exactly the same integer products. So every output stays bit for
bit the same, which the rewrite checks with both kernel sets. The stem's original shape is
recorded in the model's metadata, and ``undo_space_to_depth_stem`` restores it (bench/fp32.py
needs the network as trained for its naive baseline).
"""
from __future__ import annotations

import json
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


def _feed(session: ort.InferenceSession, pixels: np.ndarray, quality: np.ndarray, i: int) -> dict[str, np.ndarray]:
    """Photo ``i``'s inputs, those of the two that the graph has (a plain network reads no quality)."""
    names = {x.name for x in session.get_inputs()}
    return {k: v[i : i + 1] for k, v in ((IMAGE_INPUT, pixels), (QUALITY_INPUT, quality)) if k in names}


def fuse(qdq: Path, out: Path, pixels: np.ndarray, quality: np.ndarray) -> Path:
    """Write ``qdq`` fused at ORT's extended level to ``out``; check it on the given inputs.

    Raises ValueError if any output differs in any bit from the QDQ graph's under the serving
    session options (which then fuse and lay out the graph themselves)."""
    _session(qdq, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, save_to=out)
    diff = _first_difference(qdq, out, pixels, quality)
    if diff:
        raise ValueError(f"fused graph differs from the QDQ graph on {diff}")
    return out


def _first_difference(a: Path, b: Path, pixels: np.ndarray, quality: np.ndarray, exact_int8: bool = False) -> str | None:
    """Where the two graphs' outputs first differ in any bit under the serving session options
    (which fuse and lay out each graph themselves), or None."""
    sa, sb = (_session(p, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, exact_int8=exact_int8) for p in (a, b))
    for i in range(len(pixels)):
        feed = _feed(sa, pixels, quality, i)
        for o, x, y in zip(sa.get_outputs(), sa.run(None, feed), sb.run(None, feed)):
            if not np.array_equal(x, y):
                return f"output {o.name}, input {i}: max |diff| {float(np.abs(x - y).max()):.3g}"
    return None


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
        feed = _feed(before, pixels, quality, i)
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


STEM_METADATA_KEY = "screener.stem_space_to_depth"


def _int_attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _image_stem(g: onnx.GraphProto) -> tuple[onnx.NodeProto | None, tuple[int, int], str]:
    """The QLinearConv reading the quantised image and the image's (height, width), if the
    rewrite applies to it; else None and why not."""
    quantised = {n.output[0] for n in g.node if n.op_type == "QuantizeLinear" and n.input[0] == IMAGE_INPUT}
    convs = [n for n in g.node if n.op_type == "QLinearConv" and n.input[0] in quantised]
    if len(convs) != 1:
        return None, (0, 0), f"{len(convs)} quantised convs read the image"
    node, a = convs[0], _int_attrs(convs[0])
    if a.get("strides") != [2, 2] or a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])) \
            or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None, (0, 0), f"{node.name} is not a plain stride-2 conv"
    dims = next(i for i in g.input if i.name == IMAGE_INPUT).type.tensor_type.shape.dim
    if any(not d.HasField("dim_value") or d.dim_value % 2 for d in dims[2:]):
        return None, (0, 0), "the image's height or width is odd or not fixed"
    return node, (dims[2].dim_value, dims[3].dim_value), ""


def _s2d_axis(k: int, pad_begin: int) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Along one axis, tap t of a stride-2 window reads pixel 2*i - pad_begin + t = 2*(i + b) + d:
    block offset b and phase d. Returns the new kernel size, the new leading pad (in blocks), and
    for each old tap (t, new tap, phase)."""
    offsets = [((t - pad_begin) // 2, (t - pad_begin) % 2) for t in range(k)]
    lo = min(b for b, _ in offsets)
    return max(b for b, _ in offsets) - lo + 1, -lo, [(t, b - lo, d) for t, (b, d) in enumerate(offsets)]


def _weight_slots(taps_h: list[tuple[int, int, int]], taps_w: list[tuple[int, int, int]], c: int) -> list[tuple[tuple, tuple]]:
    """(index into the 3x3 weight, index into the rearranged one) for every tap: the one map that
    the rewrite and its undo read in opposite directions. SpaceToDepth puts pixel (2y + dy, 2x + dx)
    of channel ch at channel (dy * 2 + dx) * c + ch."""
    every = slice(None)
    return [((every, every, t, u), (every, slice((dy * 2 + dx) * c, (dy * 2 + dx + 1) * c), a_h, a_w))
            for t, a_h, dy in taps_h for u, a_w, dx in taps_w]


def space_to_depth_stem(src: Path, out: Path, pixels: np.ndarray, quality: np.ndarray) -> tuple[Path, dict]:
    """Write ``src`` to ``out`` with its stem as SpaceToDepth(2) + a stride-1 conv (module doc).

    Raises ValueError if any output differs in any bit on the given inputs, with the fast or the
    exact INT8 kernels. Where the rewrite does not apply (another stem, an odd input size), ``out``
    is ``src`` unchanged and the returned dict says why."""
    model = onnx.load(str(src))
    g = model.graph

    def skipped(why: str) -> tuple[Path, dict]:
        onnx.save(model, str(out))
        return out, {"rewritten": None, "skipped": why}

    node, (h, wd), why = _image_stem(g)
    if node is None:
        return skipped(why)
    inits = {t.name: t for t in g.initializer}
    a = _int_attrs(node)
    w = numpy_helper.to_array(inits[node.input[3]])
    o, c, kh, kw = w.shape
    pads = a.get("pads", [0, 0, 0, 0])
    nkh, pad_top, taps_h = _s2d_axis(kh, pads[0])
    nkw, pad_left, taps_w = _s2d_axis(kw, pads[1])
    w2 = np.zeros((o, 4 * c, nkh, nkw), dtype=w.dtype)
    for old, new in _weight_slots(taps_h, taps_w, c):
        w2[new] = w[old]
    out_h, out_w = (h + pads[0] + pads[2] - kh) // 2 + 1, (wd + pads[1] + pads[3] - kw) // 2 + 1
    # Trailing pads (in blocks) that give the same output size; the extra zeros meet zero weights.
    pad_bottom, pad_right = out_h - h // 2 - pad_top + nkh - 1, out_w - wd // 2 - pad_left + nkw - 1
    if min(pad_bottom, pad_right) < 0:
        return skipped(f"{node.name}: the window does not cover the output")
    # The attributes in their order, so that undoing the rewrite gives back the same bytes.
    original = {"node": node.name, "weight": node.input[3], "kernel_shape": [kh, kw],
                "attributes": [[k, v.decode() if isinstance(v, bytes) else v] for k, v in a.items()]}
    new_w = node.input[3] + "_space_to_depth"
    g.initializer.append(numpy_helper.from_array(w2, new_w))
    if sum(node.input[3] in n.input for n in g.node) == 1:  # the stem's alone (separated graphs)
        g.initializer.remove(inits[node.input[3]])
    s2d_out = node.input[0] + "_space_to_depth"
    at = list(g.node).index(node)
    g.node.insert(at, helper.make_node("SpaceToDepth", [node.input[0]], [s2d_out], blocksize=2,
                                       name=node.name + "/space_to_depth"))
    node.input[0], node.input[3] = s2d_out, new_w
    del node.attribute[:]
    node.attribute.extend([helper.make_attribute("kernel_shape", [nkh, nkw]), helper.make_attribute("strides", [1, 1]),
                           helper.make_attribute("pads", [pad_top, pad_left, pad_bottom, pad_right]),
                           helper.make_attribute("dilations", [1, 1]), helper.make_attribute("group", 1)])
    helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props},
                                   STEM_METADATA_KEY: json.dumps(original)})
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    for exact in (False, True):
        diff = _first_difference(src, out, pixels, quality, exact_int8=exact)
        if diff:
            raise ValueError(f"the space-to-depth stem changed {diff} ({'exact' if exact else 'fast'} INT8 kernels)")
    return out, {"rewritten": node.name, "kernel_shape": [nkh, nkw], "in_channels": 4 * c, "original": original,
                 "checked_identical_on": len(pixels)}


def undo_space_to_depth_stem(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with its stem as trained again (the weights put back from the rearranged ones)."""
    props = {p.key: p.value for p in model.metadata_props}
    if STEM_METADATA_KEY not in props:
        return model
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    original = json.loads(props[STEM_METADATA_KEY])
    node = next(n for n in g.node if n.name == original["node"])
    s2d = next(n for n in g.node if n.output[0] == node.input[0] and n.op_type == "SpaceToDepth")
    inits = {t.name: t for t in g.initializer}
    w2 = numpy_helper.to_array(inits[node.input[3]])
    kh, kw = original["kernel_shape"]  # ORT may leave kernel_shape out of the attributes
    pads = dict(original["attributes"]).get("pads", [0, 0, 0, 0])
    c = w2.shape[1] // 4
    _, _, taps_h = _s2d_axis(kh, pads[0])
    _, _, taps_w = _s2d_axis(kw, pads[1])
    w = np.zeros((w2.shape[0], c, kh, kw), dtype=w2.dtype)
    for old, new in _weight_slots(taps_h, taps_w, c):
        w[old] = w2[new]
    g.initializer.remove(inits[node.input[3]])
    if original["weight"] not in inits:
        g.initializer.append(numpy_helper.from_array(w, original["weight"]))
    node.input[0], node.input[3] = s2d.input[0], original["weight"]
    g.node.remove(s2d)
    del node.attribute[:]
    node.attribute.extend([helper.make_attribute(k, v) for k, v in original["attributes"]])
    keep = [p for p in model.metadata_props if p.key != STEM_METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    return model
