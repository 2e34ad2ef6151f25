"""Screen one photo's bytes: header -> rules -> decode -> prepare -> predict -> decide.

Public API::

    screen_bytes(data: bytes, classifier: Classifier, config: Config,
                 content_type: str | None = None) -> ScreenResult
    refused(reason: Reason, model_id: str, detail: str = "") -> ScreenResult
        a review result for an object judged without its bytes (e.g. over the byte cap)
    with_reason(result: ScreenResult, reason: Reason) -> ScreenResult
        the same screening sent to review for one more reason, found outside the pixels
    ScreenResult(decision, scores, header, timings_ms, model_id, detail)
        .verdict, .reasons, .approved, .top_labels() -> dict[str, tuple[str, float]]

Never raises on bad input: every failure becomes a review with a named reason, because an
exception here would leave the photo in incoming/ and retry it forever for nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Mapping

from .classifier import Classifier, Scores
from .config import Config
from .decode import DecodeFailure, ImageHeader, decode_rgb, read_header
from .policy import Decision, Verdict, decide
from .preprocess import prepare
from .reasons import Reason
from .rules import check_content_type, check_header, check_size


@dataclass(frozen=True)
class ScreenResult:
    decision: Decision
    scores: Scores | None  # None when the photo was refused before scoring
    header: ImageHeader | None  # None when not even the header could be read
    timings_ms: Mapping[str, float] = field(default_factory=dict)  # per stage, plus "total"
    model_id: str = ""
    detail: str = ""  # human-readable cause of a refusal; never includes the bytes

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return self.decision.reasons

    @property
    def approved(self) -> bool:
        return self.decision.verdict is Verdict.APPROVED

    def top_labels(self) -> dict[str, tuple[str, float]]:
        """Top label and its probability per softmax head (background, angle, category)."""
        if self.scores is None:
            return {}
        out = {"background": Scores.top(self.scores.background), "angle": Scores.top(self.scores.angle)}
        if self.scores.category:
            out["category"] = Scores.top(self.scores.category)
        return out


def refused(reason: Reason, model_id: str, detail: str = "") -> ScreenResult:
    return ScreenResult(Decision(Verdict.REVIEW, (reason,)), None, None, {}, model_id, detail)


def with_reason(result: ScreenResult, reason: Reason) -> ScreenResult:
    return replace(result, decision=Decision(Verdict.REVIEW, (*result.reasons, reason)))


class _Clock:
    def __init__(self) -> None:
        self.t0 = self.last = time.perf_counter()
        self.ms: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] = round((now - self.last) * 1000.0, 2)
        self.last = now

    def done(self) -> dict[str, float]:
        self.ms["total"] = round((time.perf_counter() - self.t0) * 1000.0, 2)
        return self.ms


def screen_bytes(data: bytes, classifier: Classifier, config: Config, content_type: str | None = None) -> ScreenResult:
    manifest = classifier.manifest
    model_id = classifier.model_id
    policy = config.policy_for(manifest)
    clock = _Clock()
    header: ImageHeader | None = None
    rule_reasons: list[Reason] = []
    try:
        size_reason = check_size(len(data), config.limits)
        if size_reason is not None:
            return ScreenResult(decide(None, [size_reason], policy), None, None, clock.done(), model_id,
                                f"{len(data)} bytes")
        im, header = read_header(data)
        rules = check_header(header, config.limits, manifest.input.analysis_size)
        rule_reasons.extend(rules.reasons)
        mismatch = check_content_type(content_type, header)
        if mismatch is not None:
            rule_reasons.append(mismatch)
        clock.lap("header")
        if not rules.may_decode:
            return ScreenResult(decide(None, rule_reasons, policy), None, header, clock.done(), model_id,
                                f"{header.format} {header.width}x{header.height}")
        rgb = decode_rgb(im, min_side=manifest.input.analysis_size)
        clock.lap("decode")
    except DecodeFailure as e:
        return ScreenResult(decide(None, rule_reasons + [e.reason], policy), None, header, clock.done(),
                            model_id, e.detail)
    except Exception as e:  # noqa: BLE001 - any decoder crash on hostile bytes is a review, not a retry
        return ScreenResult(decide(None, rule_reasons + [Reason.INTERNAL_ERROR], policy), None, header,
                            clock.done(), model_id, f"{type(e).__name__} while decoding")
    try:
        x = prepare(rgb, header, manifest.input)
        clock.lap("prepare")
        scores = classifier.predict(x)
        clock.lap("predict")
    except Exception as e:  # noqa: BLE001
        return ScreenResult(decide(None, rule_reasons + [Reason.MODEL_ERROR], policy), None, header,
                            clock.done(), model_id, f"{type(e).__name__}: {e}"[:300])
    return ScreenResult(decide(scores, rule_reasons, policy), scores, header, clock.done(), model_id)
