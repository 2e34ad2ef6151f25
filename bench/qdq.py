"""A fused INT8 graph (QLinearConv, QGemm, QLinearAdd …) back in QDQ form, for ``fp32.py``.

The shipped model is saved as ONNX Runtime fuses it (model_build/serving_graph.py). The naive
baseline needs the fp32 network behind it, and ``fp32.dequantize_model`` undoes quantisation
in QDQ form. Each fused op becomes its float op between DequantizeLinear on the inputs and a
QuantizeLinear to the op's own output scale, so every quantised tensor keeps its saturation
range (the 8-bit clamp that stands in for a ReLU6). Integer biases become fp32 initializers
(bias x input scale x weight scale). Other ops reading a quantised tensor (a Flatten) get the
same treatment with the input's scale.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

_UNARY = {"QLinearGlobalAveragePool": "GlobalAveragePool", "QLinearSoftmax": "Softmax", "QLinearSigmoid": "Sigmoid"}
_FUSED = {"QLinearConv", "QGemm", "QLinearAdd", "QLinearConcat", *_UNARY}


def is_fused(model: onnx.ModelProto) -> bool:
    return any(n.op_type in _FUSED for n in model.graph.node)


def _toposorted(g: onnx.GraphProto) -> list[onnx.NodeProto]:
    """ORT saves fused graphs in its own order, not always topological; ONNX requires one."""
    ready = {i.name for i in g.input} | {i.name for i in g.initializer} | {""}
    pending, out = list(g.node), []
    while pending:
        rest = [n for n in pending if not all(i in ready for i in n.input)]
        done = [n for n in pending if all(i in ready for i in n.input)]
        if not done:
            raise ValueError("graph has a cycle or an input nobody produces")
        for n in done:
            out.append(n)
            ready.update(n.output)
        pending = rest
    return out


class _Builder:
    def __init__(self, g: onnx.GraphProto):
        self.inits = {i.name: i for i in g.initializer}
        self.nodes: list[onnx.NodeProto] = []
        self.new_inits: list[onnx.TensorProto] = []
        self.qparams: dict[str, tuple[str, str]] = {}  # quantised tensor -> (scale, zero point)
        self._dq: dict[str, str] = {}

    def array(self, name: str) -> np.ndarray:
        return numpy_helper.to_array(self.inits[name])

    def dq(self, t: str, scale: str, zero: str, axis: int = 1) -> str:
        if t not in self._dq:
            out = f"{t}__dq"
            self.nodes.append(helper.make_node("DequantizeLinear", [t, scale, zero], [out], axis=axis))
            self._dq[t] = out
        return self._dq[t]

    def q(self, y: str, scale: str, zero: str, out: str) -> None:
        self.nodes.append(helper.make_node("QuantizeLinear", [y, scale, zero], [out]))
        self.qparams[out] = (scale, zero)

    def bias(self, b: str, in_scale: str, w_scale: str) -> str:
        name = f"{b}__fp32"
        val = self.array(b).astype(np.float64) * self.array(in_scale).astype(np.float64) * self.array(w_scale)
        self.new_inits.append(numpy_helper.from_array(val.astype(np.float32), name))
        return name


def to_qdq(model: onnx.ModelProto) -> onnx.ModelProto:
    g = model.graph
    b = _Builder(g)
    for n in _toposorted(g):
        t, ins, out = n.op_type, list(n.input), n.output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if t == "QuantizeLinear":
            b.nodes.append(n)
            b.qparams[out] = (ins[1], ins[2])
        elif t == "QLinearConv":
            x, xs, xz, w, ws, wz, ys, yz = ins[:8]
            conv_in = [b.dq(x, xs, xz), b.dq(w, ws, wz, axis=0)]
            if len(ins) > 8 and ins[8]:
                conv_in.append(b.bias(ins[8], xs, ws))
            b.nodes.append(helper.make_node("Conv", conv_in, [f"{out}__f"], **attrs))
            b.q(f"{out}__f", ys, yz, out)
        elif t == "QGemm":
            a, as_, az, w, ws, wz = ins[:6]
            gemm_in = [b.dq(a, as_, az), b.dq(w, ws, wz, axis=0 if attrs.get("transB", 0) else 1)]
            if len(ins) > 6 and ins[6]:
                gemm_in.append(b.bias(ins[6], as_, ws))
            quantised_out = len(ins) > 7 and ins[7]
            y = f"{out}__f" if quantised_out else out
            b.nodes.append(helper.make_node("Gemm", gemm_in, [y], **attrs))
            if quantised_out:
                b.q(y, ins[7], ins[8], out)
        elif t == "QLinearAdd":
            a, as_, az, c, cs, cz, ys, yz = ins
            b.nodes.append(helper.make_node("Add", [b.dq(a, as_, az), b.dq(c, cs, cz)], [f"{out}__f"]))
            b.q(f"{out}__f", ys, yz, out)
        elif t in _UNARY:
            x, xs, xz, ys, yz = ins
            if attrs.pop("channels_last", 0):
                raise ValueError(f"channels_last {t} is not supported")
            attrs.pop("opset", None)  # QLinearSoftmax's record of the float op's opset
            b.nodes.append(helper.make_node(_UNARY[t], [b.dq(x, xs, xz)], [f"{out}__f"], **attrs))
            b.q(f"{out}__f", ys, yz, out)
        elif t == "QLinearConcat":
            ys, yz, rest = ins[0], ins[1], ins[2:]
            parts = [b.dq(rest[i], rest[i + 1], rest[i + 2]) for i in range(0, len(rest), 3)]
            b.nodes.append(helper.make_node("Concat", parts, [f"{out}__f"], **attrs))
            b.q(f"{out}__f", ys, yz, out)
        elif t.startswith("QLinear") or (n.domain == "com.microsoft" and t.startswith("Q")):
            raise ValueError(f"fused op {t} has no float form here")
        elif t != "DequantizeLinear" and any(i in b.qparams for i in ins):
            # A shape op on 8-bit data (Flatten): run it on the float value, requantise alike.
            src = next(i for i in ins if i in b.qparams)
            scale, zero = b.qparams[src]
            new_in = [b.dq(i, *b.qparams[i]) if i in b.qparams else i for i in ins]
            b.nodes.append(helper.make_node(t, new_in, [f"{out}__f"], domain=n.domain, **attrs))
            b.q(f"{out}__f", scale, zero, out)
        else:
            b.nodes.append(n)
    del g.node[:]
    g.node.extend(b.nodes)
    g.initializer.extend(b.new_inits)
    return model
