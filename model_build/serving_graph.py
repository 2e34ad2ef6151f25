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
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from screener.classifier import session_options

from .input_spec import IMAGE_INPUT, QUALITY_INPUT


def _session(model: Path, level: ort.GraphOptimizationLevel, save_to: Path | None = None) -> ort.InferenceSession:
    so = session_options(1)
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
