"""What the heads adapt (TrainConfig.adapt; chosen by model_build/experiments/block15_ab.py).

Each adapter trains its own copy and leaves the shared backbone pretrained; training sees exactly
what the exported graph computes; the export stores the frozen, shared layers once; a features
cache of the wrong block is refused."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
import torch

from model_build.dataset import ANGLE_LABELS, BACKGROUND_LABELS, LABEL_COLUMNS
from model_build.export import export_onnx
from model_build.features_cache import FeatureSet
from model_build.network import HeadTrainer, ScreenerNet, input_blocks
from model_build.train import Adaptation, TrainConfig, cached_blocks, train_heads

TINY = TrainConfig(epochs=2, batch_size=8, threads=1)


def random_set(n: int, views: int, seed: int, channels: int) -> FeatureSet:
    rng = np.random.default_rng(seed)
    labels = np.full((n, len(LABEL_COLUMNS)), np.nan, np.float32)
    labels[:, 0] = rng.integers(0, len(BACKGROUND_LABELS), n)
    labels[:, 1] = rng.integers(0, len(ANGLE_LABELS), n)
    labels[:, 2] = rng.integers(0, 2, n)
    labels[:, 3] = rng.random(n)
    maps = rng.random((n, views, channels, 7, 7)).astype(np.float16) * 4
    return FeatureSet(maps, rng.random((n, views, 11)).astype(np.float32), labels, None, [{}] * n)


def channels(adapt: Adaptation) -> int:
    return 192 if cached_blocks(adapt) is not None else 320  # block 14's output, or block 15's


@pytest.fixture
def fresh_backbone():
    from model_build.efficientnet_lite import load_pretrained

    return load_pretrained()


@pytest.mark.parametrize("adapt", list(Adaptation))
def test_each_adaptation_trains_its_own_copy_and_leaves_the_backbone(fresh_backbone, adapt):
    b = fresh_backbone
    before = {k: v.clone() for k, v in b.state_dict().items()}
    heads = train_heads(b, random_set(24, 2, 0, channels(adapt)), replace(TINY, adapt=adapt), log=lambda _: None)
    assert all(torch.equal(before[k], v) for k, v in b.state_dict().items()), "the backbone must stay pretrained"
    a = heads.adapter
    assert input_blocks(b, heads) == (cached_blocks(adapt) or len(b._blocks))
    if adapt is Adaptation.NONE:
        assert a is None
    elif adapt is Adaptation.HEAD_CONV:
        assert not torch.equal(a.conv.weight, b._conv_head.weight)
        assert torch.equal(a.bn.running_mean, b._bn1.running_mean)
    else:
        block = b._blocks[-1]
        assert not torch.equal(a.block._project_conv.weight, block._project_conv.weight)
        assert torch.equal(a.block._bn2.running_var, block._bn2.running_var)  # statistics stay pretrained
        moved = not torch.equal(a.block._expand_conv.weight, block._expand_conv.weight)
        assert moved == (adapt is Adaptation.LAST_BLOCK)


@pytest.mark.parametrize("reads_pretrained", [True, False])
@pytest.mark.parametrize("adapt", [Adaptation.LAST_BLOCK, Adaptation.HEAD_CONV, Adaptation.NONE])
def test_training_view_equals_the_exported_network(fresh_backbone, adapt, reads_pretrained):
    b = fresh_backbone
    cfg = replace(TINY, adapt=adapt, epochs=1, background_reads_pretrained=reads_pretrained)
    heads = train_heads(b, random_set(16, 1, 1, channels(adapt)), cfg, log=lambda _: None)
    assert heads.background_reads_pretrained is reads_pretrained
    image, q = torch.randn(2, 3, 224, 224), torch.rand(2, 11)
    net, trainer = ScreenerNet(b, heads).eval(), HeadTrainer(b, heads).eval()
    with torch.no_grad():
        served = net(image, q)
        maps = b.features(image, upto_block=input_blocks(b, heads))
        trained = heads.probabilities(trainer(maps, q))
    for name, out in zip(("background", "angle", "crop", "quality"), served):
        torch.testing.assert_close(out, trained[name], rtol=1e-5, atol=1e-6)


def test_background_reads_the_pretrained_features_precomputed_or_not(fresh_backbone):
    """Training looks the pretrained pooled features up in a table computed once; they must be
    what the trainer (and so the exported graph) computes, and only the background reads them."""
    from model_build.train import pretrained_pooled_table

    b = fresh_backbone
    fs = random_set(6, 2, 3, 192)
    heads = train_heads(b, random_set(16, 1, 1, 192), replace(TINY, epochs=1, background_reads_pretrained=True),
                        log=lambda _: None)
    trainer = HeadTrainer(b, heads).eval()
    table = pretrained_pooled_table(trainer, fs.maps, batch=4)
    assert table.shape == (6, 2, 1280)
    maps, q = torch.from_numpy(fs.maps[:, 1].astype(np.float32)), torch.from_numpy(fs.quality[:, 1])
    with torch.no_grad():
        on_the_fly = trainer(maps, q)
        looked_up = trainer(maps, q, torch.from_numpy(table[:, 1]))
        other = trainer(maps, q, torch.from_numpy(table[:, 0]))
    for k in on_the_fly:
        torch.testing.assert_close(looked_up[k], on_the_fly[k], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(other["background"], on_the_fly["background"])
    torch.testing.assert_close(other["angle"], on_the_fly["angle"])


def test_the_wrong_cached_block_is_refused(fresh_backbone):
    with pytest.raises(ValueError, match="192-channel output of the first 15 blocks"):
        train_heads(fresh_backbone, random_set(8, 1, 0, 320), replace(TINY, adapt=Adaptation.LAST_BLOCK), log=lambda _: None)


def _weights_of(model: onnx.ModelProto, *scopes: str) -> set[str]:
    """The initializers the Conv nodes of these scopes read (after ORT's optimiser, which stores
    equal constants once and merges equal nodes)."""
    return {n.input[1] for n in model.graph.node if n.op_type == "Conv" and any(sc in n.name for sc in scopes)}


@pytest.mark.parametrize("adapt,expand_weights", [(Adaptation.LAST_BLOCK, 2), (Adaptation.LAST_BLOCK_SHARED_EXPAND, 1)])
def test_export_stores_the_shared_frozen_layers_once(fresh_backbone, tmp_path, adapt, expand_weights):
    from model_build.heads import ScreenerHeads
    from model_build.train import make_adapter

    b = fresh_backbone.eval()
    heads = ScreenerHeads(n_quality=11, adapter=make_adapter(b, adapt))
    with torch.no_grad():  # as if trained: the copy's trainable weights differ from the original's
        for p in heads.adapter.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.01)
    path = export_onnx(ScreenerNet(b, heads).eval(), tmp_path / "m.onnx", n_quality=11)
    m = onnx.load(str(path))
    block15, copy = "/_blocks.15/", "/adapter/block/"
    assert len(_weights_of(m, "/_conv_head/")) == 1  # category and heads read one head conv
    assert len(_weights_of(m, block15 + "_expand_conv/", copy + "_expand_conv/")) == expand_weights
    assert len(_weights_of(m, block15 + "_project_conv/", copy + "_project_conv/")) == 2  # original and trained copy


def test_config_from_an_older_manifest():
    assert TrainConfig.from_manifest({"adapt_head_conv": True, "epochs": 60}).adapt is Adaptation.HEAD_CONV
    assert TrainConfig.from_manifest({"adapt_head_conv": False}).adapt is Adaptation.NONE
    assert TrainConfig.from_manifest({"adapt": "last_block", "unknown": 1}).adapt is Adaptation.LAST_BLOCK
    assert not TrainConfig.from_manifest({"adapt": "last_block"}).background_reads_pretrained  # older manifests
    with pytest.raises(ValueError):
        TrainConfig(adapt="everything")


@pytest.mark.parametrize("adapt", [Adaptation.HEAD_CONV, Adaptation.LAST_BLOCK])
def test_the_experiments_arms_train_on_block14_maps_and_are_scored(backbone, adapt):
    """model_build/experiments/block15_ab.py: every arm from the same block-14 cache."""
    from model_build.experiments.block15_ab import score, train_arm

    frozen = backbone.eval().requires_grad_(False)
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    model = train_arm(frozen, random_set(24, 2, 0, 192), adapt, TINY)
    assert all(torch.equal(before[k], v) for k, v in frozen.state_dict().items())
    assert model.heads.adapter is not None
    res = score(model, random_set(30, 1, 1, 192), random_set(30, 1, 2, 192))
    for k in ("shift_background_acc", "shift_angle_acc", "shift_crop_acc"):
        assert 0.0 <= res[k] <= 1.0
    assert set(res["thresholds"]) == {"background", "angle", "crop", "quality"}
