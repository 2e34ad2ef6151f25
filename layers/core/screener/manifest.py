"""The model manifest: everything serving needs to know about the model, parsed and validated once.

The manifest travels with ``model.onnx`` in the model layer. Serving hard-codes none of it:
input size, normalisation, resize method, head names, labels and the category grouping all come
from here, so a retrained model with other labels or another input size serves unchanged.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

SCHEMA_VERSION = 1

# The retailer's standards fix these label sets; the policy reasons about them by name.
REQUIRED_SOFTMAX_HEADS = {
    "background": ("white", "lifestyle", "other"),
    "angle": ("front", "side", "angle", "detail"),
}
REQUIRED_SCORE_HEADS = ("crop", "quality")  # crop: P(cropping adequate); quality: 0..1 score


class ManifestError(ValueError):
    """The manifest is missing, malformed, or does not match the model file."""


@dataclass(frozen=True)
class QualityFeatureSpec:
    """Hand-measured image statistics fed to the model beside the pixels (see preprocess.py)."""

    input_name: str
    version: int
    names: tuple[str, ...]


@dataclass(frozen=True)
class InputSpec:
    name: str
    size: int  # square model input, pixels
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str  # Pillow filter name, e.g. "bilinear"
    fit: str  # "squash": whole frame resized to size x size, so crop defects stay visible
    analysis_size: int  # decode at no less than this (short side) for the sharpness statistics
    quality_features: QualityFeatureSpec | None
    # Pillow's two-step resize: an integer box ``reduce`` while the image stays at least
    # reducing_gap x the target, then ``resize`` with the filter. None: one exact resize (models
    # before 1.5.0 were trained on that, and their manifests do not name a gap).
    reducing_gap: float | None = None


@dataclass(frozen=True)
class Head:
    name: str
    output: str  # ONNX output name
    kind: str  # "softmax" (probabilities over labels) or "score" (one value in 0..1)
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    output: str
    labels: tuple[str, ...]
    groups: Mapping[str, tuple[int, ...]]  # label -> ImageNet class indices (documentation)
    source: str


@dataclass(frozen=True)
class ModelManifest:
    name: str
    version: str
    file: str
    sha256: str
    input: InputSpec
    heads: Mapping[str, Head]
    category: Category | None
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    operating_point: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"


def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ManifestError(f"manifest: missing '{key}' in {where}")
    return d[key]


def _triple(v: Any, where: str) -> tuple[float, float, float]:
    if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v)):
        raise ManifestError(f"manifest: {where} must be a list of 3 numbers")
    return (float(v[0]), float(v[1]), float(v[2]))


def _reducing_gap(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 1.0 <= raw <= 16.0:
        raise ManifestError(f"manifest: input.reducing_gap must be a number from 1 to 16 or absent, got {raw!r}")
    return float(raw)


def parse_manifest(raw: Mapping[str, Any]) -> ModelManifest:
    """Validate a manifest dict and return the typed manifest. Raises ManifestError."""
    if raw.get("schema") != SCHEMA_VERSION:
        raise ManifestError(f"manifest: schema must be {SCHEMA_VERSION}, got {raw.get('schema')!r}")
    inp = _req(raw, "input", "manifest")
    qf = inp.get("quality_features")
    qspec = None
    if qf is not None:
        qspec = QualityFeatureSpec(
            input_name=str(_req(qf, "name", "input.quality_features")),
            version=int(_req(qf, "version", "input.quality_features")),
            names=tuple(_req(qf, "names", "input.quality_features")),
        )
    size = int(_req(inp, "size", "input"))
    if not 32 <= size <= 1024:
        raise ManifestError(f"manifest: input.size {size} out of range")
    fit = str(inp.get("fit", "squash"))
    if fit != "squash":
        raise ManifestError(f"manifest: input.fit '{fit}' is not supported (only 'squash')")
    spec = InputSpec(
        name=str(_req(inp, "name", "input")),
        size=size,
        mean=_triple(_req(inp, "mean", "input"), "input.mean"),
        std=_triple(_req(inp, "std", "input"), "input.std"),
        resize=str(inp.get("resize", "bilinear")).lower(),
        fit=fit,
        analysis_size=int(inp.get("analysis_size", size)),
        quality_features=qspec,
        reducing_gap=_reducing_gap(inp.get("reducing_gap")),
    )
    heads: dict[str, Head] = {}
    for name, h in _req(raw, "heads", "manifest").items():
        kind = str(_req(h, "kind", f"heads.{name}"))
        if kind not in ("softmax", "score"):
            raise ManifestError(f"manifest: heads.{name}.kind must be softmax or score")
        heads[name] = Head(name, str(_req(h, "output", f"heads.{name}")), kind, tuple(h.get("labels", ())))
    for name, labels in REQUIRED_SOFTMAX_HEADS.items():
        if name not in heads or heads[name].kind != "softmax" or set(heads[name].labels) != set(labels):
            raise ManifestError(f"manifest: head '{name}' must be softmax over {list(labels)}")
    for name in REQUIRED_SCORE_HEADS:
        if name not in heads or heads[name].kind != "score":
            raise ManifestError(f"manifest: head '{name}' must be a score head")
    category = None
    if raw.get("category") is not None:
        c = raw["category"]
        category = Category(
            output=str(_req(c, "output", "category")),
            labels=tuple(_req(c, "labels", "category")),
            groups={k: tuple(v) for k, v in c.get("groups", {}).items()},
            source=str(c.get("source", "")),
        )
    sha = str(_req(raw, "sha256", "manifest")).lower()
    if len(sha) != 64:
        raise ManifestError("manifest: sha256 must be 64 hex characters")
    return ModelManifest(
        name=str(_req(raw, "name", "manifest")),
        version=str(_req(raw, "version", "manifest")),
        file=str(raw.get("file", "model.onnx")),
        sha256=sha,
        input=spec,
        heads=heads,
        category=category,
        thresholds=raw.get("thresholds", {}),
        operating_point=raw.get("operating_point", {}),
        evaluation=raw.get("evaluation", {}),
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(model_dir: Path | str) -> tuple[ModelManifest, bytes]:
    """Read and validate the manifest, then read the model and check its sha256.

    Returns the manifest and the model bytes, so the file is read once and the bytes that were
    verified are the bytes that get served (no check-then-reopen window).
    """
    model_dir = Path(model_dir)
    path = model_dir / "manifest.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ManifestError(f"no manifest at {path}") from e
    except json.JSONDecodeError as e:
        raise ManifestError(f"manifest {path} is not valid JSON: {e}") from e
    manifest = parse_manifest(raw)
    model_path = model_dir / manifest.file
    try:
        blob = model_path.read_bytes()
    except FileNotFoundError as e:
        raise ManifestError(f"model file {model_path} named by the manifest is missing") from e
    actual = hashlib.sha256(blob).hexdigest()
    if actual != manifest.sha256:
        raise ManifestError(
            f"model {model_path} sha256 {actual[:12]}… does not match the manifest's "
            f"{manifest.sha256[:12]}…: refusing to serve a tampered or mismatched model"
        )
    return manifest, blob
