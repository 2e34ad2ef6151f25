"""Deployment configuration, parsed once from the environment and validated.

Public API::

    load_config(env: Mapping[str, str] = os.environ) -> Config      # raises ConfigError
    Config.prefixes: Prefixes            # incoming/ approved/ review/, validated disjoint
    Config.approval: ApprovalPolicy      # the policy JSON, before manifest defaults
    Config.limits: RuleLimits            # byte cap, pixel cap, format allow-list, min side
    Config.model_dir: Path               # MODEL_DIR, default /opt/model
    Config.ort_threads: int              # ORT_THREADS, default 1
    Config.policy_for(manifest) -> Policy   # thresholds: policy JSON > manifest > defaults
    parse_approval_policy(text: str) -> tuple[ApprovalPolicy, int]   # (policy, min_side_px)

Environment variables (all optional; defaults in brackets):
    INCOMING_PREFIX [incoming/]  APPROVED_PREFIX [approved/]  REVIEW_PREFIX [review/]
    APPROVAL_POLICY  JSON, e.g. {"allowed_backgrounds": ["white"], "allowed_angles": ["front", "angle"],
                     "thresholds": {"quality": 0.6}, "min_side_px": 800}   [{} = defaults]
    MAX_IMAGE_BYTES [20971520]  MAX_IMAGE_PIXELS [60000000]  (pixels decoded: a JPEG's after DCT scaling; at most 178956970, where Pillow stops opening images)
    ALLOWED_FORMATS [JPEG,PNG,WEBP,TIFF,GIF]   Pillow format names
    MODEL_DIR [/opt/model]  ORT_THREADS [1]

Every problem is reported at once in one ConfigError, so a bad deployment fails its first
invocation with a message that says everything that must change.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .decode import DECODABLE_FORMATS
from .manifest import REQUIRED_SOFTMAX_HEADS, ModelManifest
from .policy import Policy, Thresholds

# HEIC/AVIF are deliberately absent: Pillow cannot decode them without plugins that would grow
# the runtime layer; decode.read_header names them and they go to review as unsupported-format.
KNOWN_FORMATS = frozenset(DECODABLE_FORMATS)
DEFAULT_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF", "GIF"})
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # a 24 MP camera JPEG is ~8-12 MB
DEFAULT_MAX_PIXELS = 60_000_000  # decoded pixels (a JPEG's after DCT scaling: rules.check_header); far below a bomb
# Pillow refuses to open any image over 2 x Image.MAX_IMAGE_PIXELS, whatever our cap says, so a
# larger cap would only promise what the decoder will not do (test_config checks the figure).
PILLOW_OPEN_LIMIT = 178_956_970
DEFAULT_MIN_SIDE = 500
THRESHOLD_NAMES = ("background", "angle", "crop", "quality")


class ConfigError(ValueError):
    """The environment describes an invalid deployment."""


@dataclass(frozen=True)
class Prefixes:
    incoming: str = "incoming/"
    approved: str = "approved/"
    review: str = "review/"

    def destination(self, key: str, approved: bool) -> str:
        """``incoming/a/b.jpg`` -> ``approved/a/b.jpg`` (or ``review/...``)."""
        if not key.startswith(self.incoming):
            raise ValueError(f"key {key!r} is outside {self.incoming!r}")
        rest = key[len(self.incoming):]
        return (self.approved if approved else self.review) + rest

    def destinations(self, key: str) -> tuple[str, str]:
        return self.destination(key, True), self.destination(key, False)


@dataclass(frozen=True)
class RuleLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    allowed_formats: frozenset[str] = DEFAULT_FORMATS
    min_side_px: int = DEFAULT_MIN_SIDE


@dataclass(frozen=True)
class ApprovalPolicy:
    """The approval policy JSON as given. Thresholds not named here come from the manifest."""

    allowed_backgrounds: frozenset[str] = frozenset({"white", "lifestyle"})
    allowed_angles: frozenset[str] = frozenset({"front", "side", "angle"})
    threshold_overrides: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    prefixes: Prefixes = field(default_factory=Prefixes)
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    limits: RuleLimits = field(default_factory=RuleLimits)
    model_dir: Path = Path("/opt/model")
    ort_threads: int = 1

    def policy_for(self, manifest: ModelManifest | None) -> Policy:
        """The effective Policy: overrides from the policy JSON, else the manifest's operating
        point thresholds, else the Thresholds defaults."""
        merged: dict[str, float] = {}
        if manifest is not None:
            for name in THRESHOLD_NAMES:
                v = manifest.thresholds.get(name)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    merged[name] = float(v)
        merged.update(self.approval.threshold_overrides)
        return Policy(
            allowed_backgrounds=self.approval.allowed_backgrounds,
            allowed_angles=self.approval.allowed_angles,
            thresholds=Thresholds.from_mapping(merged),
        )


def _labels(raw: Any, head: str, errors: list[str]) -> frozenset[str] | None:
    valid = set(REQUIRED_SOFTMAX_HEADS[head])
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        errors.append(f"APPROVAL_POLICY.allowed_{head}s must be a non-empty list of labels")
        return None
    unknown = set(raw) - valid
    if unknown:
        errors.append(f"APPROVAL_POLICY.allowed_{head}s: unknown {sorted(unknown)}; valid: {sorted(valid)}")
        return None
    return frozenset(raw)


def _approval(text: str, errors: list[str]) -> tuple[ApprovalPolicy, int]:
    default = ApprovalPolicy()
    try:
        raw = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        errors.append(f"APPROVAL_POLICY is not valid JSON: {e}")
        return default, DEFAULT_MIN_SIDE
    if not isinstance(raw, dict):
        errors.append("APPROVAL_POLICY must be a JSON object")
        return default, DEFAULT_MIN_SIDE
    unknown = set(raw) - {"allowed_backgrounds", "allowed_angles", "thresholds", "min_side_px"}
    if unknown:
        errors.append(f"APPROVAL_POLICY: unknown key(s) {sorted(unknown)}")
    bgs = _labels(raw["allowed_backgrounds"], "background", errors) if "allowed_backgrounds" in raw else None
    angles = _labels(raw["allowed_angles"], "angle", errors) if "allowed_angles" in raw else None
    overrides: dict[str, float] = {}
    th = raw.get("thresholds", {})
    if not isinstance(th, dict):
        errors.append("APPROVAL_POLICY.thresholds must be an object")
    else:
        for k, v in th.items():
            if k not in THRESHOLD_NAMES:
                errors.append(f"APPROVAL_POLICY.thresholds: unknown head {k!r}; valid: {list(THRESHOLD_NAMES)}")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                errors.append(f"APPROVAL_POLICY.thresholds.{k} must be a number in [0, 1], got {v!r}")
            else:
                overrides[k] = float(v)
    min_side = raw.get("min_side_px", DEFAULT_MIN_SIDE)
    if isinstance(min_side, bool) or not isinstance(min_side, int) or not 1 <= min_side <= 20000:
        errors.append(f"APPROVAL_POLICY.min_side_px must be an integer in [1, 20000], got {min_side!r}")
        min_side = DEFAULT_MIN_SIDE
    policy = ApprovalPolicy(
        allowed_backgrounds=bgs if bgs is not None else default.allowed_backgrounds,
        allowed_angles=angles if angles is not None else default.allowed_angles,
        threshold_overrides=overrides,
    )
    return policy, min_side


def parse_approval_policy(text: str) -> tuple[ApprovalPolicy, int]:
    """Parse the approval policy JSON alone (for the CLI and tests). Raises ConfigError."""
    errors: list[str] = []
    out = _approval(text, errors)
    if errors:
        raise ConfigError("invalid approval policy:\n  - " + "\n  - ".join(errors))
    return out


def env_int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int, errors: list[str]) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        v = int(raw)
    except ValueError:
        errors.append(f"{name} must be an integer, got {raw!r}")
        return default
    if not lo <= v <= hi:
        errors.append(f"{name}={v} must lie in [{lo}, {hi}]")
        return default
    return v


def _prefixes(env: Mapping[str, str], errors: list[str]) -> Prefixes:
    d = Prefixes()
    p = {
        "incoming": env.get("INCOMING_PREFIX", "").strip() or d.incoming,
        "approved": env.get("APPROVED_PREFIX", "").strip() or d.approved,
        "review": env.get("REVIEW_PREFIX", "").strip() or d.review,
    }
    for name, v in p.items():
        if not v.endswith("/") or v.startswith("/") or v == "/":
            errors.append(f"{name.upper()}_PREFIX {v!r} must be a folder like '{name}/' (ends with '/', no leading '/')")
    # A destination under incoming/ (or the reverse) would re-trigger the function on its own
    # output: the recursive loop the whole design avoids.
    names = list(p)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if p[a].startswith(p[b]) or p[b].startswith(p[a]):
                errors.append(f"prefixes {a}={p[a]!r} and {b}={p[b]!r} overlap; they must be disjoint")
    return Prefixes(**p)


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Parse and validate the whole configuration. Raises ConfigError listing every problem."""
    env = os.environ if env is None else env
    errors: list[str] = []
    prefixes = _prefixes(env, errors)
    approval, min_side = _approval(env.get("APPROVAL_POLICY", ""), errors)
    fmts_raw = env.get("ALLOWED_FORMATS", "").strip()
    formats = DEFAULT_FORMATS
    if fmts_raw:
        formats = frozenset(f.strip().upper() for f in fmts_raw.split(",") if f.strip())
        unknown = formats - KNOWN_FORMATS
        if unknown or not formats:
            errors.append(
                f"ALLOWED_FORMATS: unknown {sorted(unknown)}; choose from {sorted(KNOWN_FORMATS)} "
                "(HEIC/AVIF are not decodable here)"
            )
            formats = DEFAULT_FORMATS
    limits = RuleLimits(
        max_bytes=env_int(env, "MAX_IMAGE_BYTES", DEFAULT_MAX_BYTES, 1024, 5 * 1024**3, errors),
        max_pixels=env_int(env, "MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS, 10_000, PILLOW_OPEN_LIMIT, errors),
        allowed_formats=formats,
        min_side_px=min_side,
    )
    threads = env_int(env, "ORT_THREADS", 1, 1, 64, errors)
    model_dir = Path(env.get("MODEL_DIR", "").strip() or "/opt/model")
    if errors:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(errors))
    return Config(prefixes=prefixes, approval=approval, limits=limits, model_dir=model_dir, ort_threads=threads)
