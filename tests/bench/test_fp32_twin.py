"""bench/fp32.py undoes QDQ quantisation: the naive baseline's fp32 network must compute what the
INT8 model computes (up to activation rounding), with no Q/DQ node left."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

from bench.fp32 import dequantize_model
from tests.fixtures.tiny_model import N_FEATS, SIZE, model_bytes


class _Reader(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)


def _feeds(n: int, seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"image": rng.normal(0, 1, (1, 3, SIZE, SIZE)).astype(np.float32),
             "quality_features": rng.normal(0, 1, (1, N_FEATS - 3)).astype(np.float32)} for _ in range(n)]


def test_dequantised_model_matches_its_int8_source(tmp_path) -> None:
    fp32_path, int8_path = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    fp32_path.write_bytes(model_bytes())
    quantize_static(str(fp32_path), str(int8_path), _Reader(_feeds(16, 0)), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    int8 = int8_path.read_bytes()
    twin = dequantize_model(int8)
    ops = {n.op_type for n in onnx.load_from_string(twin).graph.node}
    assert not ops & {"QuantizeLinear", "DequantizeLinear"}
    a, b = ort.InferenceSession(int8), ort.InferenceSession(twin)
    assert [o.name for o in a.get_outputs()] == [o.name for o in b.get_outputs()]
    for feed in _feeds(4, 1):
        for x, y in zip(a.run(None, feed), b.run(None, feed)):
            np.testing.assert_allclose(x, y, atol=0.05)


def _fused(tmp_path, int8_path):
    from model_build.serving_graph import fuse

    feeds = _feeds(4, 2)
    px = np.concatenate([f["image"] for f in feeds])
    q = np.concatenate([f["quality_features"] for f in feeds])
    return fuse(int8_path, tmp_path / "fused.onnx", px, q)


def test_a_graph_shipped_fused_gives_the_same_twin_as_its_qdq_form(tmp_path) -> None:
    fp32_path, int8_path = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    fp32_path.write_bytes(model_bytes())
    quantize_static(str(fp32_path), str(int8_path), _Reader(_feeds(16, 0)), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    fused = _fused(tmp_path, int8_path).read_bytes()
    assert {n.op_type for n in onnx.load_from_string(fused).graph.node} & {"QGemm", "QLinearConv", "QLinearAdd"}
    a, b = ort.InferenceSession(dequantize_model(int8_path.read_bytes())), ort.InferenceSession(dequantize_model(fused))
    for feed in _feeds(4, 3):
        for x, y in zip(a.run(None, feed), b.run(None, feed)):
            np.testing.assert_allclose(x, y, atol=1e-5)


def test_the_committed_models_twin_is_fp32_and_agrees_with_it() -> None:
    """The shipped graph (fused: QLinearConv, QGemm, QLinearConcat, a Flatten on 8-bit data …)."""
    from pathlib import Path

    int8 = (Path(__file__).resolve().parents[2] / "layers" / "model" / "model.onnx").read_bytes()
    twin = dequantize_model(int8)
    ops = {n.op_type for n in onnx.load_from_string(twin).graph.node}
    # The naive baseline runs the network as trained, not the build's space-to-depth stem.
    assert not ops & {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QGemm", "QLinearAdd", "SpaceToDepth"}
    assert "Conv" in ops
    a, b = ort.InferenceSession(int8), ort.InferenceSession(twin)
    n_quality = {i.name: i.shape for i in a.get_inputs()}["quality_features"][-1]  # the feature set's width
    rng = np.random.default_rng(4)
    for _ in range(2):
        feed = {"image": rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32),
                "quality_features": rng.normal(0, 1, (1, n_quality)).astype(np.float32)}
        for x, y in zip(a.run(None, feed), b.run(None, feed)):
            np.testing.assert_allclose(x, y, atol=0.1)  # probabilities: INT8 rounding only


def test_a_fused_op_without_a_float_form_is_refused_by_name() -> None:
    """bench/qdq.py knows the ops the build's fusion produces; anything else is an error naming
    the op, never a silently wrong baseline."""
    from onnx import TensorProto, helper, numpy_helper

    from bench.qdq import to_qdq

    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "s"), numpy_helper.from_array(np.array(0, np.uint8), "z")]
    node = helper.make_node("QLinearLeakyRelu", ["x", "s", "z", "s", "z"], ["y"], domain="com.microsoft", alpha=0.1)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(ValueError, match="QLinearLeakyRelu"):
        to_qdq(model)
