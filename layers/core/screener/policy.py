"""The approval policy: scores and rule results in, a verdict with named reasons out. Pure.

A photo is approved only when every rule passed and the model is confident on every standard;
any doubt means review. The thresholds are per head; their defaults come from the model's
manifest (chosen at the evaluated operating point), and a deployment may override them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable, Mapping

from .classifier import Scores
from .reasons import Reason


class Verdict(str, Enum):
    APPROVED = "approved"
    REVIEW = "review"


@dataclass(frozen=True)
class Thresholds:
    background: float = 0.5  # min P(background is an allowed kind)
    angle: float = 0.5  # min P(primary angle is an allowed kind)
    crop: float = 0.5  # min P(cropping adequate)
    quality: float = 0.5  # min quality score

    @classmethod
    def from_mapping(cls, m: Mapping[str, float]) -> "Thresholds":
        unknown = set(m) - {"background", "angle", "crop", "quality"}
        if unknown:
            raise ValueError(f"unknown threshold(s): {sorted(unknown)}")
        vals = {k: float(v) for k, v in m.items()}
        for k, v in vals.items():
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"threshold {k}={v} must lie in [0, 1]")
        return cls(**vals)


@dataclass(frozen=True)
class Policy:
    allowed_backgrounds: frozenset[str] = frozenset({"white", "lifestyle"})
    allowed_angles: frozenset[str] = frozenset({"front", "side", "angle"})
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[Reason, ...]  # empty exactly when approved


def _standard(probs: Mapping[str, float], allowed: frozenset[str], threshold: float, reason: Reason) -> Reason | None:
    """Fail a standard when its allowed mass is below threshold.

    The reason names the standard when the model's top label is itself disallowed; when the top
    label is allowed but the model is unsure, the photo still goes to review as low-confidence.
    """
    p_ok = sum(p for label, p in probs.items() if label in allowed)
    if p_ok >= threshold:
        return None
    top = max(probs, key=probs.__getitem__)
    return reason if top not in allowed else Reason.LOW_CONFIDENCE


def model_reasons(scores: Scores, policy: Policy) -> list[Reason]:
    t = policy.thresholds
    found = [
        _standard(scores.background, policy.allowed_backgrounds, t.background, Reason.BACKGROUND),
        _standard(scores.angle, policy.allowed_angles, t.angle, Reason.ANGLE),
        Reason.CROP if scores.crop_ok < t.crop else None,
        Reason.QUALITY if scores.quality < t.quality else None,
    ]
    return [r for r in found if r is not None]


def decide(scores: Scores | None, rule_reasons: Iterable[Reason], policy: Policy) -> Decision:
    """Combine rule failures and model standards into one verdict.

    ``scores`` is None when the photo could not be scored (undecodable, refused by a rule before
    decoding, or a model error); such a photo always goes to review with the rule's reason.
    """
    reasons = list(dict.fromkeys(rule_reasons))  # keep order, drop repeats
    if scores is None:
        if not reasons:
            reasons.append(Reason.MODEL_ERROR)
    else:
        for r in model_reasons(scores, policy):
            if r not in reasons:
                reasons.append(r)
    verdict = Verdict.APPROVED if not reasons else Verdict.REVIEW
    return Decision(verdict, tuple(reasons))
