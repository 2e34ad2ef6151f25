"""Static INT8 quantisation with ONNX Runtime's tooling: QDQ, per-channel weights, INT8 activations.

Calibration feeds inputs made by exactly the serving preprocessing (``screener.preprocess.prepare``
via features_cache) from calibration images that are not in any test set. The model is first run
through ``quant_pre_process`` (symbolic shape inference + graph optimisation; it also folds the
static TF-"same" padding arithmetic into constants).

Which nodes stay fp32 is decided by measurement (see ``exclusion_candidates`` and build.py): the
first conv sees raw normalised pixels, and the last layers' outputs are the probabilities the
policy thresholds, so both are the usual suspects for quantisation error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from .input_spec import IMAGE_INPUT, QUALITY_INPUT


class ServingCalibrationReader(CalibrationDataReader):
    """Feeds prepared (pixels, quality features) pairs, one image per batch, as serving does.
    ``quality`` None: a pixels-only graph (the plain backbone ``bench.model_latency`` compares)."""

    def __init__(self, pixels: np.ndarray, quality: np.ndarray | None):
        self._pixels, self._quality = pixels, quality
        self._i = 0

    def get_next(self):
        if self._i >= len(self._pixels):
            return None
        i = self._i
        self._i += 1
        feed = {IMAGE_INPUT: self._pixels[i : i + 1]}
        if self._quality is not None:
            feed[QUALITY_INPUT] = self._quality[i : i + 1]
        return feed

    def rewind(self) -> None:
        self._i = 0


def preprocess(fp32_path: Path, out_path: Path) -> Path:
    quant_pre_process(str(fp32_path), str(out_path), skip_symbolic_shape=False)
    return out_path


def stem_nodes(model: onnx.ModelProto) -> list[str]:
    """The first conv: the one node that reads the image (through its padding)."""
    names = []
    for node in model.graph.node:
        if node.op_type == "Conv" and "_conv_stem" in node.name:
            names.append(node.name)
    return names


# Scopes the exporter gives the trained heads' layers (see heads.py; network.py calls them unscoped).
HEAD_SCOPES = ("/adapter/", "/reduce/", "/spatial/", "/pooled/", "/qproj/", "/background/", "/angle/", "/crop/", "/defects/")
FC_SCOPES = ("/_fc/",)


def head_nodes(model: onnx.ModelProto, include_fc: bool) -> list[str]:
    """The trained heads' weighted nodes; with ``include_fc`` also the ImageNet FC and the
    category grouping MatMul (1.28 M weights: 5 MB in fp32, which alone breaks the 6 MB budget)."""
    scopes = HEAD_SCOPES + (FC_SCOPES if include_fc else ())
    return [
        n.name
        for n in model.graph.node
        if n.op_type in ("Gemm", "MatMul", "Conv") and (any(sc in n.name for sc in scopes) or (include_fc and n.name == "/MatMul"))
    ]


def output_nodes(model: onnx.ModelProto) -> list[str]:
    """Nodes that always stay fp32: the probability outputs and the category grouping.

    Quantised, a softmax over 1000 ImageNet classes rounds most of its mass to zero (a served
    category distribution summed to 0.82 instead of 1), and 8-bit probabilities step by 1/255
    exactly where the policy's thresholds sit (0.95 .. 0.998). These few nodes cost nothing
    in fp32.
    """
    return [n.name for n in model.graph.node if n.op_type in ("Softmax", "Sigmoid") or n.name == "/MatMul"]


def exclusion_candidates(pre_path: Path) -> dict[str, list[str]]:
    """Named sets of nodes to keep in fp32 (beyond ``output_nodes``, which always are)."""
    model = onnx.load(str(pre_path))
    stem, heads, heads_fc = stem_nodes(model), head_nodes(model, False), head_nodes(model, True)
    out = output_nodes(model)
    return {
        "none": out,
        "first_conv": stem + out,
        "heads": heads + out,
        "first_conv+heads": stem + heads + out,
        "first_conv+heads+fc": stem + heads_fc + out,
    }


ACTIVATION_TYPES = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
# The first validation photos calibrate every quantisation a build makes (int8_backbone.py too).
CALIBRATION_IMAGES = 300


def quantize(pre_path: Path, out_path: Path, pixels: np.ndarray, quality: np.ndarray | None, exclude: list[str],
             activations: str = "int8") -> Path:
    """QDQ: symmetric per-channel int8 weights, asymmetric 8-bit activations, MinMax calibration.

    ``activations`` "int8" (S8S8) or "uint8" (U8S8): both are 8-bit; on x86 ONNX Runtime's
    U8S8 kernels can be faster, so the build measures both.
    """
    quantize_static(
        str(pre_path),
        str(out_path),
        ServingCalibrationReader(pixels, quality),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=ACTIVATION_TYPES[activations],
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=list(exclude),
        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
    )
    return out_path
