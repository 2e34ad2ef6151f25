from urllib.parse import parse_qsl

import pytest

from screener.classifier import Scores
from screener.policy import Decision, Verdict
from screener.reasons import Reason
from screener.screening import ScreenResult, refused
from screener.tags import (MAX_TAGS, Compaction, encode_tagging, fit_metadata, is_valid_tag, plan_tags)

SCORES = Scores(background={"white": 0.97, "lifestyle": 0.02, "other": 0.01},
                angle={"front": 0.91, "side": 0.05, "angle": 0.03, "detail": 0.01},
                crop_ok=0.88, quality=0.76, category={"footwear": 0.8, "bags": 0.2})
APPROVED = ScreenResult(Decision(Verdict.APPROVED, ()), SCORES, None, {}, "screener@2024.1")
REVIEW = ScreenResult(Decision(Verdict.REVIEW, (Reason.CROP, Reason.QUALITY)), SCORES, None, {}, "screener@2024.1")


def uploader(n):
    return {f"team-{i}": f"value {i}" for i in range(n)}


def test_full_tags():
    plan = plan_tags({"owner": "alice"}, APPROVED)
    assert plan.level is Compaction.FULL
    assert plan.tags == {
        "owner": "alice",
        "screen:verdict": "approved",
        "screen:model": "screener@2024.1",
        "screen:reasons": "none",
        "screen:background": "white:0.97",
        "screen:angle": "front:0.91",
        "screen:category": "footwear:0.80",
        "screen:crop": "0.88",
        "screen:quality": "0.76",
    }
    assert plan.metadata == {}


@pytest.mark.parametrize("n, level, ours", [
    (2, Compaction.FULL, 8), (3, Compaction.PACKED, 4), (6, Compaction.PACKED, 4), (7, Compaction.MINIMAL, 2),
    (8, Compaction.MINIMAL, 2), (9, Compaction.VERDICT, 1), (10, Compaction.NONE, 0),
])
def test_ladder_never_exceeds_ten_and_keeps_uploader_tags(n, level, ours):
    existing = uploader(n)
    plan = plan_tags(existing, REVIEW)
    assert plan.level is level
    assert len(plan.tags) == n + ours <= MAX_TAGS
    assert all(plan.tags[k] == v for k, v in existing.items())
    assert all(is_valid_tag(k, v) for k, v in plan.tags.items())
    if level is Compaction.PACKED:
        assert plan.tags["screen:scores"] == "bg=white:0.97 angle=front:0.91 crop=0.88 quality=0.76 cat=footwear:0.80"
    if level in (Compaction.MINIMAL, Compaction.VERDICT, Compaction.NONE):
        # what did not fit is recorded in metadata on the copy
        assert plan.metadata["screen-verdict"] == "review"
        assert plan.metadata["screen-reasons"] == "crop quality"
        assert plan.metadata["screen-model"] == "screener@2024.1"


def test_previous_screening_tags_are_replaced_not_counted():
    existing = {**uploader(3), "screen:verdict": "approved", "screen:reasons": "none", "screen:old": "x"}
    plan = plan_tags(existing, REVIEW)
    assert plan.tags["screen:verdict"] == "review" and "screen:old" not in plan.tags
    assert plan.level is Compaction.PACKED


def test_refused_result_has_no_score_tags():
    plan = plan_tags({}, refused(Reason.TOO_LARGE_BYTES, "m@1"))
    assert plan.tags == {"screen:verdict": "review", "screen:model": "m@1", "screen:reasons": "too-large-bytes"}


def test_values_are_sanitised_and_bounded():
    weird = ScreenResult(Decision(Verdict.APPROVED, ()), None, None, {}, "näme#with,bad*chars@" + "v" * 400)
    plan = plan_tags({}, weird)
    assert all(is_valid_tag(k, v) for k, v in plan.tags.items())
    assert plan.tags["screen:model"].startswith("n_me_with_bad_chars@")
    assert len(plan.tags["screen:model"]) == 256


def test_tag_validity():
    assert is_valid_tag("a b+c-d=e.f_g:h/i@j", "Ünïcode letters are fine")
    assert not is_valid_tag("k", "semi;colon")
    assert not is_valid_tag("k" * 129, "v")
    assert not is_valid_tag("aws:reserved", "v")
    assert not is_valid_tag("", "v")


def test_encode_tagging_round_trips_plus_and_space():
    tags = {"a b": "x+y", "screen:reasons": "crop quality", "k": "%25"}
    assert dict(parse_qsl(encode_tagging(tags))) == tags
    assert "%2B" in encode_tagging(tags)


def test_metadata_budget():
    big = {"notes": "x" * 2000}
    extra = {"screen-verdict": "review", "screen-reasons": "crop", "screen-scores": "y" * 100}
    fitted = fit_metadata(big, extra)
    assert fitted == {"screen-verdict": "review", "screen-reasons": "crop"}
    assert fit_metadata({}, extra) == extra
