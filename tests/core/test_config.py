import dataclasses
import json
from pathlib import Path

import pytest

from screener.config import ConfigError, Prefixes, load_config, parse_approval_policy
from screener.manifest import load_manifest


def test_defaults():
    c = load_config({})
    assert c.prefixes == Prefixes("incoming/", "approved/", "review/")
    assert str(c.model_dir) == "/opt/model"
    assert c.ort_threads == 1
    assert "JPEG" in c.limits.allowed_formats and "HEIC" not in c.limits.allowed_formats


def test_every_problem_reported_at_once():
    with pytest.raises(ConfigError) as e:
        load_config({
            "APPROVED_PREFIX": "incoming/ok/",
            "REVIEW_PREFIX": "review",
            "APPROVAL_POLICY": json.dumps({"allowed_backgrounds": ["blue"], "thresholds": {"crop": 2, "zoom": 0.1}}),
            "MAX_IMAGE_BYTES": "lots",
            "ALLOWED_FORMATS": "JPEG,HEIC",
            "ORT_THREADS": "0",
        })
    msg = str(e.value)
    for fragment in ("overlap", "REVIEW_PREFIX", "blue", "thresholds.crop", "zoom", "MAX_IMAGE_BYTES",
                     "HEIC", "ORT_THREADS"):
        assert fragment in msg


@pytest.mark.parametrize("text", ["{", "[]", '{"min_side_px": -3}', '{"allowed_angles": []}', '{"extra": 1}'])
def test_bad_policy_json(text):
    with pytest.raises(ConfigError):
        parse_approval_policy(text)


def test_thresholds_default_to_manifest_and_policy_overrides(tiny_model_dir):
    manifest, _ = load_manifest(tiny_model_dir)
    manifest = dataclasses.replace(manifest, thresholds={"background": 0.7, "quality": 0.4, "note": "ignored"})
    c = load_config({"APPROVAL_POLICY": json.dumps({
        "allowed_backgrounds": ["white"], "thresholds": {"quality": 0.9}, "min_side_px": 1000})})
    p = c.policy_for(manifest)
    assert p.allowed_backgrounds == frozenset({"white"})
    assert p.thresholds.background == 0.7  # from the manifest
    assert p.thresholds.quality == 0.9  # the policy JSON wins
    assert p.thresholds.crop == 0.5  # neither: the Thresholds default
    assert c.limits.min_side_px == 1000


def test_destination_keeps_the_rest_of_the_key():
    p = Prefixes()
    assert p.destination("incoming/a/b c+d.jpg", True) == "approved/a/b c+d.jpg"
    assert p.destination("incoming/x.png", False) == "review/x.png"
    with pytest.raises(ValueError):
        p.destination("other/x.png", True)


def test_the_pixel_cap_goes_no_higher_than_pillow_opens():
    """Pillow refuses any image over 2 x Image.MAX_IMAGE_PIXELS when opening it, so a cap above
    that would promise to screen photos the decoder refuses; the template's MaxValue says the same."""
    from PIL import Image

    from screener.config import PILLOW_OPEN_LIMIT

    assert PILLOW_OPEN_LIMIT == 2 * Image.MAX_IMAGE_PIXELS
    assert load_config({"MAX_IMAGE_PIXELS": str(PILLOW_OPEN_LIMIT)}).limits.max_pixels == PILLOW_OPEN_LIMIT
    with pytest.raises(ConfigError, match="MAX_IMAGE_PIXELS=178956971"):
        load_config({"MAX_IMAGE_PIXELS": str(PILLOW_OPEN_LIMIT + 1)})
    template = (Path(__file__).resolve().parents[2] / "template.yaml").read_text()
    assert f"MaxValue: {PILLOW_OPEN_LIMIT}" in template
