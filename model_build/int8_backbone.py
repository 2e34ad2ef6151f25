"""The frozen backbone as the INT8 model runs it: the maps the heads will see in serving.

Measured on 1.6.0 (model_build/README.md, "What changed in 1.7.0"): its INT8 drop came from
the quantised backbone, not from the trained part. The INT8 backbone under the fp32 block-15
copy and heads lost most of what the whole INT8 model lost (1.33 of 1.67 points on the shifted
set, all 1.35 in-distribution); the fp32 backbone under the INT8 copy and heads lost 0.03-0.17. The backbone's block-14
output carried a 19-20 % relative RMS error. So the heads train on these maps as well as the
fp32 ones (``TrainConfig.int8_share``) instead of only on Gaussian noise standing in for them.

The backbone's quantisation parameters depend only on the frozen backbone and the calibration
photos, never on the heads. Quantising the network with its heads still untrained, exactly as
the build later quantises the trained one (same export, calibration photos and settings), gives
the blocks the shipped model will have; the graph is then cut at the adapter's input.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Callable

import onnx
import torch
from onnx.shape_inference import infer_shapes
from onnx.utils import Extractor

from .efficientnet_lite import load_pretrained
from .export import export_onnx
from .features_cache import FeatureSet
from .heads import ScreenerHeads
from .input_spec import IMAGE_INPUT
from .network import ScreenerNet
from .pipeline import PREFERRED_ACTIVATIONS, calibration_inputs
from .quantize import output_nodes, preprocess, quantize
from .train import TrainConfig, make_adapter

ADAPTER_SCOPE = "/adapter/"


def adapter_input(model: onnx.ModelProto) -> str:
    """The tensor the heads' trainable part reads: in a QDQ graph, the dequantised block output."""
    for node in model.graph.node:  # topological order: the first adapter node reads the tap
        if node.name.startswith(ADAPTER_SCOPE):
            return node.input[0]
    raise ValueError("the graph has no adapter: the heads read no backbone map to train on")


def int8_backbone(val: FeatureSet, cfg: TrainConfig, log: Callable[[str], None] = print) -> bytes:
    """ONNX bytes: image -> the INT8 backbone's map at the adapter's input (as float)."""
    if val.pixels is None:
        raise ValueError("calibration needs the validation set's model inputs (keep_pixels)")
    backbone = load_pretrained()
    adapter = make_adapter(backbone, cfg.adapt)
    if adapter is None:
        raise ValueError(f"adapt={cfg.adapt.value}: no adapter, so no backbone map for the heads to train on")
    torch.manual_seed(0)  # the heads' weights do not reach the cut graph; seeded all the same
    heads = ScreenerHeads(n_quality=val.quality.shape[-1], dropout=0.0, adapter=adapter)
    heads.set_quality_stats(torch.zeros(val.quality.shape[-1]), torch.ones(val.quality.shape[-1]))
    px, q = calibration_inputs(val)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fp32 = export_onnx(ScreenerNet(backbone, heads).eval(), work / "fp32.onnx", n_quality=val.quality.shape[-1])
        pre = preprocess(fp32, work / "pre.onnx")
        # The variant every build since 1.4.0 shipped (pipeline.pick_variant): the preferred
        # activations, only the outputs in fp32. Should a build pick another, its backbone
        # differs from these maps only in the stem's or the activations' precision.
        qdq = quantize(pre, work / "qdq.onnx", px, q, output_nodes(onnx.load(str(pre))), PREFERRED_ACTIVATIONS)
        model = infer_shapes(onnx.load(str(qdq)))
    tap = adapter_input(model)
    cut = Extractor(model).extract_model([IMAGE_INPUT], [tap])
    blob = cut.SerializeToString()
    log(f"  INT8 backbone up to the adapter's input ({tap}): {len(blob) / 2**20:.2f} MiB, calibrated on {len(px)} "
        f"validation photos, sha256 {hashlib.sha256(blob).hexdigest()[:16]}")
    return blob
