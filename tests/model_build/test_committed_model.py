"""The committed model in layers/model/, checked without retraining."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

from screener.classifier import Classifier
from screener.manifest import load_manifest, sha256_file
from screener.policy import Policy, Thresholds, Verdict, decide
from model_build.input_spec import input_spec

from model_build import categories
from model_build.dataset import ANGLE_LABELS, BACKGROUND_LABELS, serving_input
from model_build.evaluate import real_photo_paths

MODEL_DIR = Path(__file__).resolve().parents[2] / "layers" / "model"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.from_dir(MODEL_DIR)


def test_sha256_and_manifest(clf):
    raw = json.loads((MODEL_DIR / "manifest.json").read_text())
    assert raw["sha256"] == sha256_file(MODEL_DIR / "model.onnx")
    manifest, _ = load_manifest(MODEL_DIR)
    assert manifest.name == "product-photo-qa"
    assert (MODEL_DIR / "model.onnx").stat().st_size <= 6 * 2**20
    assert manifest.input.size == 224 and manifest.input.resize == "bilinear" and manifest.input.fit == "squash"
    assert manifest.input.quality_features == input_spec().quality_features  # what `make model` builds
    assert manifest.category.labels == categories.LABELS
    assert {k: list(v) for k, v in manifest.category.groups.items()} == categories.group_indices()
    Thresholds.from_mapping(manifest.thresholds)
    assert manifest.operating_point["target_false_approve"] == 0.01
    q = raw["evaluation"]["quantization"]
    assert q["chosen"] in q["variants"]


def _predict(clf, data: bytes):
    return clf.predict(serving_input(data, clf.manifest.input))


def test_make_model_rebuilds_the_committed_model():
    """The catalog plan, the recipe, the version and the input contract that `make model` uses
    today are the ones the committed model records, so a change to any of them (1.6.0 doubled
    the training photos) cannot land without the model it builds."""
    from dataclasses import asdict

    from model_build.build import DEFAULT_VERSION, SynthPlan
    from model_build.train import TrainConfig

    raw = json.loads((MODEL_DIR / "manifest.json").read_text())
    training = raw["training"]
    plan = SynthPlan()
    assert training["synthetic"] == {name: {"split": split, "seed": seed, "n": n}
                                     for name, (split, seed, n) in plan.sets().items()}
    assert training["views"] == plan.views
    # Read as a manifest is read: an option added since defaults to what the model was built
    # without, so it must be today's default too; and nothing the model records was dropped.
    assert TrainConfig.from_manifest(training["config"]) == TrainConfig()
    assert set(training["config"]) <= set(asdict(TrainConfig()))
    assert raw["version"] == DEFAULT_VERSION
    manifest, _ = load_manifest(MODEL_DIR)
    assert manifest.input == input_spec()


def test_the_shipped_graph_is_fused_ahead_of_time():
    """Session creation does not redo the fusion (model_build/serving_graph.py): no float conv or
    Q/DQ pair is left around the convolutions."""
    ops = Counter(n.op_type for n in onnx.load(str(MODEL_DIR / "model.onnx")).graph.node)
    ev = json.loads((MODEL_DIR / "manifest.json").read_text())["evaluation"]
    q = ev["quantization"]
    kept_stem = "first_conv" in q["variants"][q["chosen"]]["kept_fp32"]  # measured choice: stem may stay fp32
    # The category path's head conv runs in float over the heads' INT8 weight (serving_graph.py).
    separated = len(ev["serving_graph"]["separated"]["float_convs"])
    assert ops["Conv"] == int(kept_stem) + separated and ops["QLinearConv"] >= 50
    assert ops["DequantizeLinear"] + ops["QuantizeLinear"] < 10 + 2 * separated


def test_the_shipped_stem_is_space_to_depth_and_undoes_to_the_conv_as_trained():
    """The build ships the stem as SpaceToDepth + a 2x2 conv (serving_graph.space_to_depth_stem),
    which checked every output bit for bit; undone, it is the 3x3 stride-2 conv of the backbone."""
    from model_build.serving_graph import undo_space_to_depth_stem

    model = onnx.load(str(MODEL_DIR / "model.onnx"))
    stem = json.loads((MODEL_DIR / "manifest.json").read_text())["evaluation"]["serving_graph"]["stem"]
    assert stem["rewritten"] == "/_conv_stem/Conv" and stem["checked_identical_on"] >= 32
    assert Counter(n.op_type for n in model.graph.node)["SpaceToDepth"] == 1
    undone = undo_space_to_depth_stem(model)
    conv = next(n for n in undone.graph.node if n.name == "/_conv_stem/Conv")
    weight = next(t for t in undone.graph.initializer if t.name == conv.input[3])
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in conv.attribute}
    assert list(weight.dims) == [32, 3, 3, 3] and attrs["strides"] == [2, 2]
    assert not any(n.op_type == "SpaceToDepth" for n in undone.graph.node)


def test_the_shipped_graph_loads_with_exact_int8_kernels_and_serving_computes_them(clf, skimage_data):
    """On a CPU without VNNI, serving asks ORT for exact INT8 kernels, which refuse an INT8 weight
    shared by two quantised convs. On this CPU, whatever it is, serving's scores are the exact
    kernels' scores (test_cpu_portability.py checks a CPU without VNNI under emulation)."""
    import onnxruntime as ort

    from screener.classifier import session_options

    graph = onnx.load(str(MODEL_DIR / "model.onnx")).graph
    readers = Counter(n.input[3] for n in graph.node if n.op_type == "QLinearConv")
    assert max(readers.values()) == 1
    exact = ort.InferenceSession(str(MODEL_DIR / "model.onnx"), session_options(1, exact_int8=True),
                                 providers=["CPUExecutionProvider"])
    for name in ("coffee.png", "chelsea.png", "astronaut.png"):
        x = serving_input((skimage_data / name).read_bytes(), clf.manifest.input)
        served = _predict(clf, (skimage_data / name).read_bytes())
        bg, ang, crop, quality, category = exact.run(None, {"image": x.pixels, "quality_features": x.quality})
        assert np.allclose(list(served.background.values()), bg[0], atol=1e-6, rtol=0)
        assert np.allclose(list(served.angle.values()), ang[0], atol=1e-6, rtol=0)
        assert abs(served.crop_ok - float(crop.ravel()[0])) <= 1e-6
        assert abs(served.quality - float(np.clip(quality.ravel()[0], 0, 1))) <= 1e-6


def test_real_photos_top1_as_expected(clf, skimage_data):
    """INT8 top-1 on real photos: zero-shot category from the ImageNet head, and no white studio."""
    coffee = _predict(clf, (skimage_data / "coffee.png").read_bytes())
    assert max(coffee.category, key=coffee.category.get) == "kitchen_tableware"
    cat = _predict(clf, (skimage_data / "chelsea.png").read_bytes())
    assert max(cat.category, key=cat.category.get) == "other"
    # None of these real photos is a white-studio product shot, and none may be auto-approved.
    # chelsea.png (a cat's face against a pale wall) came out white in 1.0.0-1.2.0 (0.68, 0.41):
    # they trained on close-ups labelled with a backdrop they did not show. 1.3.0 calls it
    # lifestyle (0.87); the floor below still allows one miss, so a retrain is not held to one photo.
    policy = Policy(thresholds=Thresholds.from_mapping(clf.manifest.thresholds))
    not_white = 0
    for path in real_photo_paths():
        s = _predict(clf, path.read_bytes())
        not_white += max(s.background, key=s.background.get) != "white"
        assert decide(s, [], policy).verdict is Verdict.REVIEW, path.name
    assert not_white >= len(real_photo_paths()) - 1


@pytest.mark.slow
def test_accuracy_on_fresh_shifted_photos(clf):
    """A small held-out set generated now (shifted split, unseen seed) clears a sane floor."""
    from model_build.synth import encode, render_sample

    n, bg_ok, bg_n, ang_ok, crop_ok, q_err = 16, 0, 0, 0, 0, []
    for i in range(n):
        sample = render_sample(i, 4242, "heldout_shift")
        s = _predict(clf, encode(sample))
        lb = sample.labels
        if lb.background != "none":  # a close-up showing no backdrop has no background to get right
            bg_n += 1
            bg_ok += max(s.background, key=s.background.get) == lb.background
        ang_ok += max(s.angle, key=s.angle.get) == lb.angle
        crop_ok += (s.crop_ok >= 0.5) == lb.crop_ok
        q_err.append(abs(s.quality - lb.quality))
    assert bg_n >= n // 2 and bg_ok / bg_n >= 0.75
    assert ang_ok / n >= 0.5
    assert crop_ok / n >= 0.6
    assert float(np.mean(q_err)) <= 0.25
    assert set(BACKGROUND_LABELS) == set(clf.manifest.heads["background"].labels)
    assert set(ANGLE_LABELS) == set(clf.manifest.heads["angle"].labels)
