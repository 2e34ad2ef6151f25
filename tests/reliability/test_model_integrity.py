"""Serving refuses a tampered or mismatched model at load, with an error that says why; and a
model that turns out numerically broken on a photo never approves it.

What the handler does with a model it refuses (decided here, documented in RELIABILITY.md): the
invocation fails before any S3 call, so every photo stays untouched in incoming/. Lambda retries
twice, then the event waits in the dead-letter queue (14 days) to be redriven once a good model
layer is deployed. Sending everything to review/ as model-error would instead bury real review
work under a deployment fault, and approving anything on a broken model is out of the question.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from screener.classifier import Classifier
from screener.manifest import ManifestError
from screener.reasons import Reason
from screener.screening import screen_bytes
from tests.fixtures import images, tiny_model
from tests.reliability.conftest import Lambda


def write_model(d: Path, blob: bytes, **manifest_changes) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.onnx").write_bytes(blob)
    m = tiny_model.manifest(hashlib.sha256(blob).hexdigest())
    for path, value in manifest_changes.items():  # "heads__crop__output" -> m["heads"]["crop"]["output"]
        *parents, leaf = path.split("__")
        node = m
        for p in parents:
            node = node[p]
        node[leaf] = value
    (d / "manifest.json").write_text(json.dumps(m))
    return d


def nan_on_bright_photos() -> bytes:
    """The tiny model with a numerically broken crop head: finite on a neutral (all-zero) input,
    NaN as soon as the frame's red mean is positive, i.e. on any photo on white."""
    model = onnx.load_from_string(tiny_model.model_bytes())
    g = model.graph
    w = next(i for i in g.initializer if i.name == "crop_w")
    arr = numpy_helper.to_array(w).copy()
    arr[0, 0] = 1.0  # logits = red channel mean
    w.CopyFrom(numpy_helper.from_array(arr, "crop_w"))
    b = next(i for i in g.initializer if i.name == "crop_b")
    b.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(b) * 0, "crop_b"))
    sig = next(n for n in g.node if n.op_type == "Sigmoid" and n.output[0] == "crop")
    sig.input[0] = "crop_sqrt"
    g.initializer.append(numpy_helper.from_array(np.array([3.0], np.float32), "three"))
    idx = list(g.node).index(sig)
    for k, node in enumerate([helper.make_node("Neg", ["crop_logits"], ["crop_neg"]),
                              helper.make_node("Sqrt", ["crop_neg"], ["crop_root"]),
                              helper.make_node("Add", ["crop_root", "three"], ["crop_sqrt"])]):
        g.node.insert(idx + k, node)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_a_flipped_byte_is_refused_naming_the_sha_mismatch(tmp_path, tiny_model_dir):
    blob = bytearray((tiny_model_dir / "model.onnx").read_bytes())
    blob[len(blob) // 2] ^= 0x01
    d = tmp_path / "tampered"
    d.mkdir()
    (d / "model.onnx").write_bytes(bytes(blob))
    (d / "manifest.json").write_text((tiny_model_dir / "manifest.json").read_text())
    with pytest.raises(ManifestError, match=r"sha256 .* does not match the manifest's .*tampered or mismatched"):
        Classifier.from_dir(d)


@pytest.mark.parametrize("change, message", [
    ({"category__labels": ["footwear", "bags", "other", "toys"]}, "head 'category' has 3 values; the manifest names 4"),
    ({"heads__crop__output": "crop_probability"}, r"lacks outputs .*crop_probability"),
    ({"input__name": "pixels"}, r"lacks inputs .*pixels"),
    ({"input__quality_features__version": 7}, r"quality features v7, this core computes"),
    ({"input__quality_features__names": ["lap_mean"]}, r"quality feature names differ"),
    ({"input__reducing_gap": 0.5}, r"input.reducing_gap must be a number from 1 to 16"),
    ({"input__reducing_gap": "2"}, r"input.reducing_gap must be a number from 1 to 16"),
], ids=["label-count", "output-name", "input-name", "feature-version", "feature-names", "gap-below-1", "gap-text"])
def test_a_manifest_that_does_not_match_its_model_is_refused_at_load(tmp_path, change, message):
    d = write_model(tmp_path / "m", tiny_model.model_bytes(), **change)
    with pytest.raises(ManifestError, match=message):
        Classifier.from_dir(d)


def test_a_model_that_is_not_finite_on_a_neutral_input_is_refused_at_load(tmp_path):
    model = onnx.load_from_string(tiny_model.model_bytes())
    b = next(i for i in model.graph.initializer if i.name == "quality_b")
    b.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(b) * float("nan"), "quality_b"))
    d = write_model(tmp_path / "m", model.SerializeToString())
    with pytest.raises(ManifestError, match="head 'quality' is not finite"):
        Classifier.from_dir(d)


def test_nan_scores_on_a_photo_mean_review_never_approval(tmp_path, config):
    """NaN compares false to every threshold: unguarded, a NaN crop score passes the crop
    standard and this photo (otherwise perfect) would be approved."""
    classifier = Classifier.from_dir(write_model(tmp_path / "m", nan_on_bright_photos()))
    r = screen_bytes(images.good_jpeg(), classifier, config)
    assert r.verdict.value == "review" and r.reasons == (Reason.MODEL_ERROR,)
    assert "not finite" in r.detail


def test_the_handler_moves_nothing_on_a_refused_model_and_the_redelivery_converges(
        tmp_path, tiny_model_dir, moto_store, handler_env):
    key = "incoming/catalog/shoe.jpg"
    moto_store.put(key, images.good_jpeg(), ContentType="image/jpeg", Tagging="owner=studio")
    event = moto_store.event(key)
    bad = tmp_path / "tampered"
    bad.mkdir()
    blob = bytearray((tiny_model_dir / "model.onnx").read_bytes())
    blob[-1] ^= 0xFF
    (bad / "model.onnx").write_bytes(bytes(blob))
    (bad / "manifest.json").write_text((tiny_model_dir / "manifest.json").read_text())

    handler_env.setenv("MODEL_DIR", str(bad))
    fn = Lambda()
    for _ in range(3):  # the first delivery and Lambda's two retries: each fails loudly, the same way
        with pytest.raises(ManifestError, match="sha256"):
            fn(event)
    assert moto_store.keys() == [key]
    assert moto_store.tags(key) == {"owner": "studio"}  # not even tagged

    handler_env.setenv("MODEL_DIR", str(tiny_model_dir))  # a good model layer is deployed
    [rec] = Lambda()(event)["records"]  # the DLQ redrive, in a new container
    assert rec["outcome"] == "moved" and rec["verdict"] == "approved"
    assert moto_store.keys() == ["approved/catalog/shoe.jpg"]
