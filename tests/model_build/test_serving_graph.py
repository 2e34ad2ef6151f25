"""The fused serving graph computes exactly what the QDQ graph computes, with fewer nodes."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

from model_build.input_spec import IMAGE_INPUT, QUALITY_INPUT
from model_build.quantize import ServingCalibrationReader
from model_build.serving_graph import fuse


def _qdq_model(tmp: Path, pixels: np.ndarray, quality: np.ndarray, pads: tuple[int, ...] = (1, 1, 1, 1),
               stride: int = 2) -> Path:
    """A small conv net with both inputs, quantised the way the build quantises (QDQ, per-channel);
    its 3x3 stem has the given ``pads`` (top, left, bottom, right) and ``stride``."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (8, 8, 1, 1)).astype(np.float32), "w2")
    fc = numpy_helper.from_array(rng.normal(0, 0.3, (8 + 2, 3)).astype(np.float32), "fc")
    nodes = [
        helper.make_node("Conv", [IMAGE_INPUT, "w1"], ["c1"], name="/_conv_stem/Conv", strides=[stride, stride],
                         pads=list(pads)),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"]),
        helper.make_node("Add", ["c2", "r1"], ["a"]),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Concat", ["f", QUALITY_INPUT], ["z"], axis=1),
        helper.make_node("MatMul", ["z", "fc"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    return _quantised(tmp / "tiny", nodes, {"probs": 3}, [w1, w2, fc], pixels, quality)


def _quantised(stem: Path, nodes: list, outputs: dict[str, int], inits: list, pixels: np.ndarray, quality: np.ndarray,
               **quantize_kw) -> Path:
    """The graph of ``nodes`` (inputs: a 32 px image and two quality features; ``outputs``: name ->
    width), saved, then quantised the way the build quantises (QDQ, per-channel, U8S8)."""
    graph = helper.make_graph(
        nodes, stem.name,
        [helper.make_tensor_value_info(IMAGE_INPUT, onnx.TensorProto.FLOAT, [None, 3, 32, 32]),
         helper.make_tensor_value_info(QUALITY_INPUT, onnx.TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [None, k]) for name, k in outputs.items()],
        inits,
    )
    fp32, qdq = stem.with_suffix(".fp32.onnx"), stem.with_suffix(".qdq.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), fp32)
    quantize_static(str(fp32), str(qdq), ServingCalibrationReader(pixels, quality), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, **quantize_kw)
    return qdq


def _ops(path: Path) -> Counter:
    return Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def test_fused_graph_is_bit_identical_and_has_no_qdq_pairs_left_around_convs(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.normal(0, 1, (6, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (6, 2)).astype(np.float32)
    qdq = _qdq_model(tmp_path, pixels, quality)
    out = fuse(qdq, tmp_path / "served.onnx", pixels, quality)
    before, after = _ops(qdq), _ops(out)
    assert before["Conv"] == 2 and before["DequantizeLinear"] > 4
    assert after["Conv"] == 0 and after["QLinearConv"] == 2  # fused ahead of time
    assert sum(after.values()) < sum(before.values())


def test_a_fused_graph_that_computes_something_else_is_refused(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    pixels = rng.normal(0, 1, (3, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (3, 2)).astype(np.float32)
    qdq = _qdq_model(tmp_path, pixels, quality)
    import model_build.serving_graph as sg

    real = sg._session

    def corrupting(model, level, save_to=None, exact_int8=False):
        sess = real(model, level, save_to, exact_int8)
        if save_to is not None:  # the saved graph gets a different weight: what a bad fuse would do
            m = onnx.load(str(save_to))
            for init in m.graph.initializer:
                if init.data_type == onnx.TensorProto.INT8 and len(init.dims) == 4:
                    a = numpy_helper.to_array(init).copy()
                    a.flat[0] = np.int8(-a.flat[0] if a.flat[0] else 5)
                    init.CopyFrom(numpy_helper.from_array(a, init.name))
                    break
            onnx.save(m, str(save_to))
        return sess

    monkeypatch.setattr(sg, "_session", corrupting)
    with pytest.raises(ValueError, match="differs from the QDQ graph"):
        fuse(qdq, tmp_path / "served.onnx", pixels, quality)


def _shared_weight_qdq(tmp: Path, pixels: np.ndarray, quality: np.ndarray, background_reads_category: bool = False) -> Path:
    """The shape of the shipped network's sharing: one 1x1 weight read by a conv of the trained
    heads ("/adapter/...") and by the category path's conv, on different inputs. Optionally the
    background also reads the category path's pooled features (``background_reads_pretrained``)."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, s).astype(np.float32), n)
             for n, s in (("w1", (8, 3, 3, 3)), ("w_adapter_in", (8, 8, 1, 1)), ("w_head", (16, 8, 1, 1)),
                          ("fc", (16 + 2 + 16 * background_reads_category, 3)), ("fc_cat", (16, 4)))]
    nodes = [
        helper.make_node("Conv", [IMAGE_INPUT, "w1"], ["c1"], name="/stem/Conv", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/stem/Relu"),
        helper.make_node("Conv", ["r1", "w_adapter_in"], ["c2"], name="/adapter/block/Conv"),
        helper.make_node("Relu", ["c2"], ["r2"], name="/adapter/block/Relu"),
        helper.make_node("Conv", ["r2", "w_head"], ["h_adapter"], name="/adapter/_conv_head/Conv"),
        helper.make_node("Conv", ["r1", "w_head"], ["h_backbone"], name="/_conv_head/Conv"),
        helper.make_node("GlobalAveragePool", ["h_adapter"], ["ga"]),
        helper.make_node("Flatten", ["ga"], ["fa"]),
        helper.make_node("GlobalAveragePool", ["h_backbone"], ["gb"]),
        helper.make_node("Flatten", ["gb"], ["fb"]),
        helper.make_node("Concat", ["fa", QUALITY_INPUT] + ["fb"] * background_reads_category, ["z"], axis=1),
        helper.make_node("MatMul", ["z", "fc"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["background"], axis=1),
        helper.make_node("MatMul", ["fb", "fc_cat"], ["cat_logits"]),
        helper.make_node("Softmax", ["cat_logits"], ["category"], axis=1),
    ]
    return _quantised(tmp / f"shared{int(background_reads_category)}", nodes, {"background": 3, "category": 4}, inits, pixels, quality,
                      nodes_to_exclude=["/MatMul", "/MatMul_1"])


def _weights_shared_by_qlinear_convs(path: Path) -> list[str]:
    graph = onnx.load(str(path)).graph
    inits = {t.name for t in graph.initializer}
    readers = Counter(n.input[3] for n in graph.node if n.op_type == "QLinearConv" and n.input[3] in inits)
    return [w for w, k in readers.items() if k > 1]


def _session(path: Path, exact: bool):
    import onnxruntime as ort

    from screener.classifier import session_options

    return ort.InferenceSession(str(path), session_options(1, exact_int8=exact), providers=["CPUExecutionProvider"])


def test_a_weight_shared_by_two_quantised_convs_is_separated(tmp_path):
    """ONNX Runtime's exact-INT8 mode (needed on CPUs without VNNI) refuses a graph whose INT8 weight
    feeds two QLinearConvs. The separated graph loads in that mode; the trained heads' conv stays
    quantised and bit for bit the same; the category path's conv runs in float over the same INT8
    weight, without storing it twice."""
    rng = np.random.default_rng(4)
    pixels = rng.normal(0, 1, (8, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (8, 2)).astype(np.float32)
    fused = fuse(_shared_weight_qdq(tmp_path, pixels, quality), tmp_path / "fused.onnx", pixels, quality)
    assert _weights_shared_by_qlinear_convs(fused)
    with pytest.raises(Exception, match="replace the existing tensor"):  # the ORT failure this works around
        _session(fused, exact=True)

    from model_build.serving_graph import separate_shared_weights

    out, info = separate_shared_weights(fused, tmp_path / "separated.onnx", pixels, quality)
    assert info["float_convs"] == ["/_conv_head/Conv"]
    assert not _weights_shared_by_qlinear_convs(out)
    assert out.stat().st_size < fused.stat().st_size + 2048  # the weight is not stored twice
    ops = _ops(out)
    assert ops["QLinearConv"] == 3 and ops["Conv"] == 1
    _session(out, exact=True)  # loads where the fused graph could not
    # The same kernels on both sides (on a CPU without VNNI exact and fast kernels differ).
    separated, original = _session(out, exact=False), _session(fused, exact=False)
    for i in range(len(pixels)):
        feed = {IMAGE_INPUT: pixels[i : i + 1], QUALITY_INPUT: quality[i : i + 1]}
        (bg_a, cat_a), (bg_b, cat_b) = separated.run(None, feed), original.run(None, feed)
        assert np.array_equal(bg_a, bg_b)
        assert np.abs(cat_a - cat_b).max() <= max(0.05, info["category_max_abs_diff"])


def test_an_output_that_reads_the_category_path_may_move_a_little_and_is_reported(tmp_path):
    """With ``background_reads_pretrained`` the background head also reads the pretrained pooled
    features, which the category path computes with the rewritten conv: its probabilities may move by a rounding
    step, are bounded, and are reported; outputs the rewrite does not feed stay bit for bit."""
    from model_build.serving_graph import MOVED_OUTPUT_LIMIT, separate_shared_weights

    rng = np.random.default_rng(5)
    pixels = rng.normal(0, 1, (8, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (8, 2)).astype(np.float32)
    fused = fuse(_shared_weight_qdq(tmp_path, pixels, quality, background_reads_category=True), tmp_path / "fused.onnx",
                 pixels, quality)
    out, info = separate_shared_weights(fused, tmp_path / "separated.onnx", pixels, quality)
    assert set(info["moved_max_abs_diff"]) == {"background", "category"}
    assert info["moved_max_abs_diff"]["background"] <= MOVED_OUTPUT_LIMIT
    _session(out, exact=True)

    plain = fuse(_shared_weight_qdq(tmp_path, pixels, quality), tmp_path / "fused_plain.onnx", pixels, quality)
    _, info = separate_shared_weights(plain, tmp_path / "separated_plain.onnx", pixels, quality)
    assert set(info["moved_max_abs_diff"]) == {"category"}  # the background did not read it: checked bit for bit


@pytest.mark.parametrize("pads", [[0, 0, 1, 1], [1, 1, 1, 1], [1, 0, 0, 1]])
def test_the_stem_as_space_to_depth_computes_the_same_bits_and_undoes_to_the_same_graph(tmp_path, pads):
    """TF-"same" padding as the backbone has it, symmetric padding, and a mix: the rewritten stem is
    a 2x2 stride-1 conv over 12 channels after SpaceToDepth, every output bit for bit the same with
    the fast and the exact INT8 kernels (space_to_depth_stem checks; this test checks again), and
    undoing it gives back the fused graph's nodes and weights byte for byte."""
    from model_build.serving_graph import space_to_depth_stem, undo_space_to_depth_stem

    rng = np.random.default_rng(7)
    pixels = rng.normal(0, 1, (6, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (6, 2)).astype(np.float32)
    fused = fuse(_qdq_model(tmp_path, pixels, quality, pads, 2), tmp_path / "fused.onnx", pixels, quality)
    out, info = space_to_depth_stem(fused, tmp_path / "s2d.onnx", pixels, quality)
    assert info["rewritten"] == "/_conv_stem/Conv" and info["kernel_shape"] == [2, 2] and info["in_channels"] == 12
    graph = onnx.load(str(out)).graph
    stem = next(n for n in graph.node if n.name == "/_conv_stem/Conv")
    attrs = {a.name: helper.get_attribute_value(a) for a in stem.attribute}
    assert attrs["strides"] == [1, 1] and attrs["kernel_shape"] == [2, 2]
    assert _ops(out)["SpaceToDepth"] == 1
    for exact in (False, True):
        a, b = _session(fused, exact), _session(out, exact)
        for i in range(len(pixels)):
            feed = {IMAGE_INPUT: pixels[i : i + 1], QUALITY_INPUT: quality[i : i + 1]}
            assert all(np.array_equal(x, y) for x, y in zip(a.run(None, feed), b.run(None, feed)))
    original, undone = onnx.load(str(fused)), undo_space_to_depth_stem(onnx.load(str(out)))
    assert [n.SerializeToString() for n in undone.graph.node] == [n.SerializeToString() for n in original.graph.node]
    assert sorted(t.SerializeToString() for t in undone.graph.initializer) == \
        sorted(t.SerializeToString() for t in original.graph.initializer)
    assert list(undone.metadata_props) == list(original.metadata_props)


def test_a_stem_the_rewrite_does_not_fit_is_left_as_it_is(tmp_path):
    from model_build.serving_graph import space_to_depth_stem

    rng = np.random.default_rng(8)
    pixels = rng.normal(0, 1, (3, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (3, 2)).astype(np.float32)
    fused = fuse(_qdq_model(tmp_path, pixels, quality, (1, 1, 1, 1), 1), tmp_path / "fused.onnx", pixels, quality)
    out, info = space_to_depth_stem(fused, tmp_path / "s2d.onnx", pixels, quality)
    assert info["rewritten"] is None and "stride-2" in info["skipped"]
    assert _ops(out) == _ops(fused)


def test_a_rewritten_stem_that_computes_something_else_is_refused(tmp_path, monkeypatch):
    import model_build.serving_graph as sg

    rng = np.random.default_rng(9)
    pixels = rng.normal(0, 1, (3, 3, 32, 32)).astype(np.float32)
    quality = rng.normal(0, 1, (3, 2)).astype(np.float32)
    fused = fuse(_qdq_model(tmp_path, pixels, quality, (0, 0, 1, 1), 2), tmp_path / "fused.onnx", pixels, quality)
    real = sg._s2d_axis
    # Each tap's weight put at the other phase: what an off-by-one in the rearrangement would do.
    monkeypatch.setattr(sg, "_s2d_axis", lambda k, pad: (lambda n, p, taps: (n, p, [(t, a, 1 - d) for t, a, d in taps]))(*real(k, pad)))
    with pytest.raises(ValueError, match="changed output probs"):
        sg.space_to_depth_stem(fused, tmp_path / "s2d.onnx", pixels, quality)
