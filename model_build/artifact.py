"""The model layer's contents: ``model.onnx`` (INT8) and ``manifest.json`` (schema 1).

The manifest is written, then read back through ``screener.manifest.load_manifest`` (schema,
heads, sha256) before the build reports success: serving's parser is the judge.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from screener.manifest import InputSpec, load_manifest, sha256_file
from screener.policy import Policy

from . import categories
from .dataset import ANGLE_LABELS, BACKGROUND_LABELS
from .input_spec import manifest_input

MODEL_NAME = "product-photo-qa"
MODEL_FILE = "model.onnx"
MAX_MODEL_BYTES = 6 * 1024 * 1024


def heads_section() -> dict:
    return {
        "background": {"output": "background", "kind": "softmax", "labels": list(BACKGROUND_LABELS)},
        "angle": {"output": "angle", "kind": "softmax", "labels": list(ANGLE_LABELS)},
        "crop": {"output": "crop", "kind": "score", "meaning": "P(cropping adequate)"},
        "quality": {"output": "quality", "kind": "score", "meaning": "image quality, 0 unusable .. 1 perfect"},
    }


def category_section() -> dict:
    return {
        "output": "category",
        "labels": list(categories.LABELS),
        "groups": categories.group_indices(),
        "source": categories.SOURCE,
    }


def policy_definitions() -> dict:
    p = Policy()
    return {
        "compliant": {
            "background_in": sorted(p.allowed_backgrounds),
            "angle_in": sorted(p.allowed_angles),
            "crop": "adequate",
            "quality_at_least": p.thresholds.quality,
        },
        "auto_approve_rate": "approved compliant photos / compliant photos",
        "false_approve_rate": "approved non-compliant photos / non-compliant photos",
    }


def write_model_dir(
    out_dir: Path, int8_path: Path, spec: InputSpec, version: str, thresholds: dict,
    operating_point: dict, evaluation: dict, training: dict,
) -> Path:
    size = int8_path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"INT8 model is {size / 2**20:.2f} MiB, over the {MAX_MODEL_BYTES / 2**20:.0f} MiB budget")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(int8_path, out_dir / MODEL_FILE)
    manifest = {
        "schema": 1,
        "name": MODEL_NAME,
        "version": version,
        "file": MODEL_FILE,
        "sha256": sha256_file(out_dir / MODEL_FILE),
        "input": manifest_input(spec),
        "heads": heads_section(),
        "category": category_section(),
        "thresholds": thresholds,
        "operating_point": {**operating_point, "definitions": policy_definitions()},
        "evaluation": evaluation,
        "training": training,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=float) + "\n")
    load_manifest(out_dir)  # serving's own parser and sha256 check
    return out_dir
