"""The ONNX classifier: one session per container, inputs and outputs named by the manifest."""
from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import onnxruntime as ort

from .manifest import ManifestError, ModelManifest, load_manifest
from .preprocess import ModelInput, feature_set


@dataclass(frozen=True)
class Scores:
    """What the model says about one photo. Probabilities are keyed by the manifest's labels."""

    background: Mapping[str, float]
    angle: Mapping[str, float]
    crop_ok: float  # P(cropping adequate)
    quality: float  # 0 (unusable) .. 1 (perfect)
    category: Mapping[str, float]

    @staticmethod
    def top(probs: Mapping[str, float]) -> tuple[str, float]:
        label = max(probs, key=probs.__getitem__)
        return label, probs[label]


@lru_cache(maxsize=1)
def cpu_sums_int8_exactly() -> bool:
    """Whether ONNX Runtime's fast INT8 kernels are exact on this CPU.

    On x86-64 they multiply u8 activations by s8 weights. With AVX-512 VNNI the products go
    straight into 32-bit sums. Without it they go through VPMADDUBSW, which adds pairs of products
    into a *saturating* 16-bit register. Other architectures (Graviton) have no such path.

    numpy's runtime dispatch table is read, not /proc/cpuinfo: it comes from CPUID and the state
    the OS enables, as ORT's own choice of kernels does (under an emulator the two can disagree).
    A CPU with only the 256-bit AVX-VNNI, which numpy does not list, counts as inexact: the exact
    kernels are only slower."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2 or a layout change: assume the worst, which is only slower
        return False
    return bool(__cpu_features__.get("AVX512VNNI"))


def session_options(intra_op_threads: int, exact_int8: bool | None = None) -> ort.SessionOptions:
    """The serving session options.

    ``exact_int8`` (default: when ``cpu_sums_int8_exactly`` says no) makes ONNX Runtime replace
    its saturating U8S8 kernels with exact U8U8 ones. On a CPU without VNNI (emulated Haswell),
    the saturating kernels changed model 1.5.0's angle on 11-15 % of photos and cut shifted
    background accuracy from 92.5 to 87.8 %. With the option every Lambda host gives the verdicts
    the build evaluated (README, "The same verdicts on every CPU"). It roughly doubles the model's
    time, and ORT applies it on VNNI CPUs too (10.2 against 4.7 ms here), so it is on only where
    it is needed. A graph whose INT8 weight feeds two quantised convs cannot load with it: the
    build separates them (model_build/serving_graph.py); its checks on unseparated graphs pass False.
    """
    if exact_int8 is None:
        exact_int8 = not cpu_sums_int8_exactly()
    so = ort.SessionOptions()
    # Lambda gives ~1 vCPU per 1769 MB; an explicit count avoids ORT sizing pools to the host.
    so.intra_op_num_threads = max(1, intra_op_threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads burn billed CPU between requests for no gain at batch 1.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if exact_int8:
        so.add_session_config_entry("session.x64quantprecision", "1")
    return so


class Classifier:
    """Runs the model. Create once per container and reuse: session creation is the cold cost."""

    def __init__(self, manifest: ModelManifest, model_bytes: bytes, intra_op_threads: int = 1):
        self.manifest = manifest
        self._session = ort.InferenceSession(
            model_bytes, sess_options=session_options(intra_op_threads), providers=["CPUExecutionProvider"]
        )
        names = {i.name for i in self._session.get_inputs()}
        self._pixels_name = manifest.input.name
        qf = manifest.input.quality_features
        self._quality_name = qf.input_name if qf else None
        if qf is not None:
            try:  # refuse now a feature set this core cannot compute, not per photo later
                feature_set(qf.version, qf.names)
            except ValueError as e:
                raise ManifestError(str(e)) from e
        missing = {self._pixels_name, self._quality_name} - names - {None}
        if missing:
            raise ManifestError(f"model lacks inputs named by the manifest: {sorted(missing)}")
        h = manifest.heads
        outs = [h["background"].output, h["angle"].output, h["crop"].output, h["quality"].output]
        if manifest.category is not None:
            outs.append(manifest.category.output)
        self._outputs = outs
        self._check_outputs()

    def _check_outputs(self) -> None:
        """Refuse, at load, a model whose outputs do not match the manifest.

        Otherwise a mismatch shows only at predict time, as a model-error review for every photo,
        or worse, not at all: zip() would silently pair a head's labels with too few or too many
        values. One probe inference on a neutral input checks every head's width and finiteness
        (and warms the session, so the first real photo does not pay for it)."""
        m = self.manifest
        missing = set(self._outputs) - {o.name for o in self._session.get_outputs()}
        if missing:
            raise ManifestError(f"model lacks outputs named by the manifest: {sorted(missing)}")
        qf = m.input.quality_features
        probe = ModelInput(np.zeros((1, 3, m.input.size, m.input.size), np.float32),
                           np.zeros((1, len(qf.names) if qf else 0), np.float32))
        # In self._outputs' order: background, angle, crop, quality[, category].
        widths = {"background": len(m.heads["background"].labels), "angle": len(m.heads["angle"].labels),
                  "crop": 1, "quality": 1}
        if m.category is not None:
            widths["category"] = len(m.category.labels)
        res = self._session.run(self._outputs, self._feeds(probe))
        for (head, width), value in zip(widths.items(), res):
            value = np.asarray(value)
            if value.size != width:
                raise ManifestError(f"model output for head '{head}' has {value.size} values; the manifest "
                                 f"names {width}: refusing a model that does not match its manifest")
            if not np.all(np.isfinite(value)):
                raise ManifestError(f"model output for head '{head}' is not finite on a neutral input")

    @classmethod
    def from_dir(cls, model_dir: Path | str, intra_op_threads: int = 1) -> "Classifier":
        """Load the manifest, verify the model's sha256, and build the session."""
        manifest, blob = load_manifest(model_dir)
        return cls(manifest, blob, intra_op_threads)

    @property
    def model_id(self) -> str:
        return self.manifest.model_id

    def _feeds(self, x: ModelInput) -> dict[str, np.ndarray]:
        feeds = {self._pixels_name: x.pixels}
        if self._quality_name:
            feeds[self._quality_name] = x.quality
        return feeds

    def predict(self, x: ModelInput) -> Scores:
        """Raises ValueError on a non-finite output: NaN compares false to every threshold, so
        it would pass the crop and quality standards; the caller turns the error into a review."""
        res = self._session.run(self._outputs, self._feeds(x))
        if not all(np.all(np.isfinite(r)) for r in res):
            raise ValueError("model output is not finite")
        h = self.manifest.heads
        bg = dict(zip(h["background"].labels, map(float, res[0][0])))
        ang = dict(zip(h["angle"].labels, map(float, res[1][0])))
        crop_ok = float(np.ravel(res[2])[0])
        quality = float(np.clip(np.ravel(res[3])[0], 0.0, 1.0))
        cat: dict[str, float] = {}
        if self.manifest.category is not None:
            cat = dict(zip(self.manifest.category.labels, map(float, res[4][0])))
        return Scores(background=bg, angle=ang, crop_ok=crop_ok, quality=quality, category=cat)
