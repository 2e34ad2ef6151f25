"""The heads train on the maps the INT8 model will feed them (int8_backbone.py, TrainConfig.int8_share).

The claim the build rests on: the backbone's quantisation does not depend on the heads, so the
backbone quantised with untrained heads is the one a trained model ships with. Checked here by
quantising the network with other heads and cutting it at the same tensor: identical maps."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx.shape_inference import infer_shapes
from onnx.utils import Extractor

from model_build.dataset import serving_input
from model_build.export import export_onnx, session
from model_build.features_cache import FeatureSet
from model_build.heads import ScreenerHeads
from model_build.input_spec import IMAGE_INPUT, input_spec
from model_build.int8_backbone import adapter_input, int8_backbone
from model_build.network import ScreenerNet
from model_build.pipeline import PREFERRED_ACTIVATIONS
from model_build.quantize import output_nodes, preprocess, quantize
from model_build.train import TrainConfig, cached_blocks, make_adapter, training_maps

N_PHOTOS = 8


@pytest.fixture(scope="module")
def photos() -> FeatureSet:
    from model_build.synth import encode, render_spec, sample_spec

    spec = input_spec()
    xs = []
    for i in range(N_PHOTOS):
        s = sample_spec(i, 5, "heldout_in")
        k = 480 / max(s.width, s.height)
        s = dataclasses.replace(s, width=max(64, int(s.width * k)), height=max(64, int(s.height * k)))
        xs.append(serving_input(encode(render_spec(s)), spec))
    px = np.concatenate([x.pixels for x in xs])
    q = np.stack([x.quality for x in xs])  # (N, 1 view, Q)
    return FeatureSet(np.zeros((N_PHOTOS, 1, 1, 7, 7), np.float16), q, np.zeros((N_PHOTOS, 11), np.float32), px, [{}] * N_PHOTOS)


@pytest.mark.slow
def test_int8_backbone_is_the_one_a_model_with_other_heads_ships(photos, backbone, tmp_path):
    cfg = TrainConfig()
    blob = int8_backbone(photos, cfg, log=lambda _: None)
    ours = session(blob).run(None, {IMAGE_INPUT: photos.pixels})[0]

    # The same network with other (random) heads, quantised as the build quantises a trained one.
    torch.manual_seed(123)
    n_q = photos.quality.shape[-1]
    heads = ScreenerHeads(n_quality=n_q, dropout=0.0, adapter=make_adapter(backbone, cfg.adapt))
    heads.set_quality_stats(torch.randn(n_q), torch.rand(n_q) + 0.5)
    fp32 = export_onnx(ScreenerNet(backbone, heads).eval(), tmp_path / "fp32.onnx", n_quality=n_q)
    pre = preprocess(fp32, tmp_path / "pre.onnx")
    qdq = quantize(pre, tmp_path / "qdq.onnx", photos.pixels, np.ascontiguousarray(photos.quality[:, 0]),
                   output_nodes(onnx.load(str(pre))), PREFERRED_ACTIVATIONS)
    model = infer_shapes(onnx.load(str(qdq)))
    theirs_model = Extractor(model).extract_model([IMAGE_INPUT], [adapter_input(model)])
    theirs = session(theirs_model.SerializeToString()).run(None, {IMAGE_INPUT: photos.pixels})[0]
    np.testing.assert_array_equal(ours, theirs)

    # The maps are block 14's as the block-15 copy reads them, with INT8's error on them.
    with torch.no_grad():
        exact = backbone.features(torch.from_numpy(photos.pixels), upto_block=cached_blocks(cfg.adapt)).numpy()
    assert ours.shape == exact.shape
    rel = np.sqrt(((ours - exact) ** 2).mean() / (exact**2).mean())
    assert 0.01 < rel < 0.5, rel


def test_training_maps_mixes_int8_rows_without_noise_and_fp32_rows_with_it():
    rng_data = np.random.default_rng(0)
    fp32 = rng_data.random((64, 4, 7, 7)).astype(np.float16)
    int8 = (fp32 + 10).astype(np.float16)  # far apart, so each row's source is plain
    ch_std = torch.ones(1, 4, 1, 1)
    cfg = TrainConfig(int8_share=0.5, feature_noise=0.22)
    out, rows = training_maps(fp32, int8, cfg, np.random.default_rng(1), ch_std)
    out = out.numpy()
    from_int8 = out.mean(axis=(1, 2, 3)) > 5
    assert 10 < from_int8.sum() < 54  # about half
    np.testing.assert_array_equal(rows, from_int8)  # the rows it says came from INT8 did
    np.testing.assert_array_equal(out[from_int8], int8[from_int8].astype(np.float32))  # no noise on INT8 rows
    diff = out[~from_int8] - fp32[~from_int8].astype(np.float32)
    assert 0.15 < diff.std() < 0.3  # the noise that stands in for quantisation error

    everything = training_maps(fp32, int8, TrainConfig(int8_share=1.0), np.random.default_rng(1), ch_std)[0].numpy()
    np.testing.assert_array_equal(everything, int8.astype(np.float32))
    without, rows = training_maps(fp32, None, cfg, np.random.default_rng(1), ch_std)
    without = without.numpy()
    assert not rows.any()
    assert 0.15 < (without - fp32.astype(np.float32)).std() < 0.3  # no INT8 maps: every row fp32 + noise


def test_older_manifests_trained_on_fp32_maps_only():
    assert TrainConfig.from_manifest({"adapt": "last_block"}).int8_share == 0.0
    assert TrainConfig.from_manifest({"adapt": "last_block", "int8_share": 0.5}).int8_share == 0.5


def test_no_int8_backbone_without_validation_photos_or_share(photos):
    """``train --manifest`` with too few rows has no validation photos to calibrate on: the heads
    then train on fp32 maps, as they do when the recipe asks for no INT8 maps at all."""
    from model_build.build import _int8_backbone

    never = lambda _: pytest.fail("nothing should be built or logged")  # noqa: E731
    assert _int8_backbone(photos.subset(np.arange(0)), TrainConfig(), never) == (None, {})
    assert _int8_backbone(photos, dataclasses.replace(TrainConfig(), int8_share=0.0), never) == (None, {})
