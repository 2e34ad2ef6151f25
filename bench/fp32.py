"""The fp32 network behind a QDQ INT8 model, for the naive baseline when no fp32 export is at hand.

A fresh clone ships only the INT8 ``model.onnx``. Undoing the quantisation gives the same graph
(the same convolutions, shapes and op count) with fp32 weights, which ONNX Runtime then runs on
its fp32 kernels: the right thing to time as "fp32 ONNX at batch 1". Its outputs differ from the
original fp32 export only by the quantisation error, which does not matter for timing.

- DequantizeLinear on a constant (weights, biases): folded into an fp32 initializer.
- QuantizeLinear -> DequantizeLinear on an activation: removed, the fp32 tensor flows through.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


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


def dequantize_model(int8: bytes) -> bytes:
    model = onnx.load_from_string(int8)
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    rename: dict[str, str] = {}  # output of a removed Q->DQ pair -> the fp32 tensor it stood for
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
            rename[n.output[0]] = producers[n.input[0]].input[0]
        elif n.op_type == "QuantizeLinear":
            continue  # every QuantizeLinear here feeds a DequantizeLinear handled above
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
