from screener.classifier import Scores
from screener.policy import Policy, Thresholds, Verdict, decide
from screener.reasons import Reason


def scores(bg="white", p_bg=0.9, angle="front", p_angle=0.9, crop=0.9, quality=0.9):
    def dist(labels, top, p):
        rest = (1 - p) / (len(labels) - 1)
        return {lbl: (p if lbl == top else rest) for lbl in labels}
    return Scores(dist(("white", "lifestyle", "other"), bg, p_bg),
                  dist(("front", "side", "angle", "detail"), angle, p_angle), crop, quality, {})


POLICY = Policy(frozenset({"white"}), frozenset({"front", "angle"}), Thresholds(0.8, 0.7, 0.6, 0.5))


def test_confident_on_every_standard_is_approved():
    d = decide(scores(), [], POLICY)
    assert d.verdict is Verdict.APPROVED and d.reasons == ()


def test_each_standard_is_named():
    assert decide(scores(bg="other"), [], POLICY).reasons == (Reason.BACKGROUND,)
    assert decide(scores(angle="detail"), [], POLICY).reasons == (Reason.ANGLE,)
    assert decide(scores(crop=0.59), [], POLICY).reasons == (Reason.CROP,)
    assert decide(scores(quality=0.49), [], POLICY).reasons == (Reason.QUALITY,)


def test_unsure_but_allowed_top_label_is_low_confidence():
    d = decide(scores(p_bg=0.6), [], POLICY)  # top is white, but only 0.6 < 0.8
    assert d.verdict is Verdict.REVIEW and d.reasons == (Reason.LOW_CONFIDENCE,)


def test_rule_reasons_come_first_and_repeat_once():
    d = decide(scores(crop=0.1), [Reason.LOW_RESOLUTION, Reason.LOW_RESOLUTION], POLICY)
    assert d.reasons == (Reason.LOW_RESOLUTION, Reason.CROP)


def test_unscored_photo_is_always_review():
    assert decide(None, [Reason.TRUNCATED], POLICY).reasons == (Reason.TRUNCATED,)
    assert decide(None, [], POLICY).reasons == (Reason.MODEL_ERROR,)


def test_threshold_exactly_met_passes():
    assert decide(scores(crop=0.6, quality=0.5), [], POLICY).verdict is Verdict.APPROVED
