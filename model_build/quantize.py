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

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from .input_spec import IMAGE_INPUT, QUALITY_INPUT


class ServingCalibrationReader(CalibrationDataReader):
    """Feeds prepared (pixels, quality features) pairs, one image per batch, as serving does."""

    def __init__(self, pixels: np.ndarray, quality: np.ndarray):
        self._pixels, self._quality = pixels, quality
        self._i = 0

    def get_next(self):
        if self._i >= len(self._pixels):
            return None
        i = self._i
        self._i += 1
        return {IMAGE_INPUT: self._pixels[i : i + 1], QUALITY_INPUT: self._quality[i : i + 1]}

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


# Scopes the exporter gives the heads' layers and the ImageNet classifier (see heads.py, network.py).
HEAD_SCOPES = ("/reduce/", "/spatial/", "/pooled/", "/qproj/", "/background/", "/angle/", "/crop/", "/quality/", "/_fc/")


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """The ImageNet FC, the category grouping and the trained heads: every node after pooling."""
    return [
        n.name
        for n in model.graph.node
        if n.op_type in ("Gemm", "MatMul", "Conv") and (n.name.startswith(HEAD_SCOPES) or n.name == "/MatMul")
    ]


def exclusion_candidates(pre_path: Path) -> dict[str, list[str]]:
    model = onnx.load(str(pre_path))
    stem, heads = stem_nodes(model), head_nodes(model)
    return {
        "none": [],
        "first_conv": stem,
        "heads_and_fc": heads,
        "first_conv+heads_and_fc": stem + heads,
    }


def quantize(pre_path: Path, out_path: Path, pixels: np.ndarray, quality: np.ndarray, exclude: list[str]) -> Path:
    """QDQ INT8 (weights per channel, activations asymmetric) calibrated by MinMax."""
    quantize_static(
        str(pre_path),
        str(out_path),
        ServingCalibrationReader(pixels, quality),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=list(exclude),
        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
    )
    return out_path


def quantize_variants(fp32_path: Path, work: Path, pixels: np.ndarray, quality: np.ndarray) -> dict[str, Path]:
    """One INT8 model per exclusion choice, for measurement."""
    work.mkdir(parents=True, exist_ok=True)
    pre = preprocess(fp32_path, work / "model.pre.onnx")
    out = {}
    for name, nodes in exclusion_candidates(pre).items():
        out[name] = quantize(pre, work / f"model.int8.{name.replace('+', '_')}.onnx", pixels, quality, nodes)
    return out


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="model_build_q_"))
