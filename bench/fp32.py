"""The fp32 network behind an INT8 model, for the naive baseline when no fp32 export is at hand.

A fresh clone ships only the INT8 ``model.onnx``. Undoing the quantisation gives the same graph
(the same convolutions, shapes and op count) with fp32 weights, which ONNX Runtime then runs on
its fp32 kernels: the right thing to time as "fp32 ONNX at batch 1". Its outputs differ from the
original fp32 export only by the quantisation error, which does not matter for timing. A graph
shipped fused is first put back in QDQ form (``qdq.py``), its stem as trained.

- DequantizeLinear on a constant (weights, biases): folded into an fp32 initializer.
- QuantizeLinear -> DequantizeLinear on an activation: replaced by a Clip to the range the
  quantised type can hold. The quantiser drops a ReLU/ReLU6 whose job the 8-bit saturation
  does, so removing the pair outright would remove the activation too.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from model_build.serving_graph import undo_space_to_depth_stem

from .qdq import is_fused, to_qdq


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    return next((a.i for a in node.attribute if a.name == name), default)


def _dequant(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int) -> np.ndarray:
    if scale.ndim == 1 and q.ndim > 1:  # per-channel: broadcast along `axis`
        shape = [1] * q.ndim
        shape[axis % q.ndim] = -1
        scale = scale.reshape(shape)
        zero = None if zero is None else zero.reshape(shape)
    x = q.astype(np.float32) - (0.0 if zero is None else zero.astype(np.float32))
    return (x * scale.astype(np.float32)).astype(np.float32)


def _saturation(q: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> tuple[float, float]:
    """The fp32 range a QuantizeLinear can represent (per-tensor, as activations are)."""
    scale = float(numpy_helper.to_array(inits[q.input[1]]).reshape(-1)[0])
    zero_t = numpy_helper.to_array(inits[q.input[2]]) if len(q.input) > 2 and q.input[2] else np.uint8(0)
    info = np.iinfo(zero_t.dtype)
    zero = float(np.asarray(zero_t).reshape(-1)[0])
    return (info.min - zero) * scale, (info.max - zero) * scale


def dequantize_model(int8: bytes) -> bytes:
    # The naive baseline runs the network as trained: the stem as the 3x3 stride-2 conv it is,
    # not the space-to-depth form the build ships for speed (model_build/serving_graph.py).
    model = undo_space_to_depth_stem(onnx.load_from_string(int8))
    if is_fused(model):  # the shipped graph is saved fused (model_build/serving_graph.py)
        model = to_qdq(model)
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    rename: dict[str, str] = {}  # output of a removed Q->DQ pair -> the clipped fp32 tensor
    keep: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    producers = {o: n for n in g.node for o in n.output}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:
            q = numpy_helper.to_array(inits[n.input[0]])
            scale = numpy_helper.to_array(inits[n.input[1]])
            zero = numpy_helper.to_array(inits[n.input[2]]) if len(n.input) > 2 and n.input[2] else None
            new_inits.append(numpy_helper.from_array(_dequant(q, scale, zero, _attr(n, "axis", 1)), n.output[0]))
        elif n.op_type == "DequantizeLinear" and producers.get(n.input[0]) is not None \
                and producers[n.input[0]].op_type == "QuantizeLinear":
            rename[n.output[0]] = n.input[0] + "_saturated"
        elif n.op_type == "QuantizeLinear":
            # Every QuantizeLinear here feeds DequantizeLinears (handled above): keep its saturation.
            lo, hi = _saturation(n, inits)
            lo_name, hi_name, out = n.output[0] + "_lo", n.output[0] + "_hi", n.output[0] + "_saturated"
            new_inits += [numpy_helper.from_array(np.array(lo, np.float32), lo_name),
                          numpy_helper.from_array(np.array(hi, np.float32), hi_name)]
            keep.append(onnx.helper.make_node("Clip", [n.input[0], lo_name, hi_name], [out]))
        else:
            keep.append(n)
    outputs = {o.name for o in g.output}
    for n in keep:
        for i, name in enumerate(n.input):
            while name in rename:
                name = rename[name]
            n.input[i] = name
    for o in g.output:
        if o.name in rename:  # keep output names: route the fp32 tensor through Identity
            keep.append(onnx.helper.make_node("Identity", [rename[o.name]], [o.name]))
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in g.node for i in n.input} | outputs
    survivors = [i for i in g.initializer if i.name in used] + [i for i in new_inits if i.name in used]
    del g.initializer[:]
    g.initializer.extend(survivors)
    onnx.checker.check_model(model)
    return model.SerializeToString()
