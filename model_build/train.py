"""Train the heads on cached backbone features; fit calibration temperatures.

The backbone is frozen (see features_cache.py) up to what the heads adapt, so an epoch is a pass
of small layers over cached 7x7 maps (192 channels after block 14 for the default block-15 copy):
seconds on 2 cores. Each item has V cached views (view 0 as served, the
others label-preserving augmentations); every epoch draws one view per item at random.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .dataset import background_known
from .efficientnet_lite import LITE0_STAGES, EfficientNetLite0
from .features_cache import FeatureSet
from .heads import BlockAdapter, HeadConvAdapter, ScreenerHeads
from .metrics import background_accuracy
from .network import HeadTrainer, input_blocks


class Adaptation(str, Enum):
    LAST_BLOCK = "last_block"
    LAST_BLOCK_SHARED_EXPAND = "last_block_shared_expand"  # its 1x1 expand conv stays pretrained
    HEAD_CONV = "head_conv"
    NONE = "none"

    @property
    def copies_last_block(self) -> bool:
        return self in (Adaptation.LAST_BLOCK, Adaptation.LAST_BLOCK_SHARED_EXPAND)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-3
    dropout: float = 0.2
    label_smoothing: float = 0.05
    seed: int = 0
    threads: int = 2
    # Which pretrained layers the heads adapt (see heads.py): a trainable copy of the backbone's
    # last block (the default), of its last 1x1 conv, or none.
    adapt: Adaptation = Adaptation.LAST_BLOCK
    adapter_lr_scale: float = 0.25
    # Gaussian noise added to the cached maps, per channel, as a fraction of that channel's
    # spread. 0.22 is the error INT8 quantisation of the backbone was measured to put on block
    # 15's output (relative std of INT8 - fp32 on validation photos: median 0.22 per channel).
    # Heads trained on exact fp32 features flip answers under that noise; heads trained with it
    # do not need the margin the INT8 model takes away. It also regularises.
    feature_noise: float = 0.22
    # Share of training maps drawn from the INT8 backbone (int8_backbone.py), where the feature
    # set has them; the noise above then goes only on the fp32 maps, for which it stands in.
    # Since 1.7.0: 1.6.0's INT8 drop came from the quantised backbone's maps, not its heads.
    int8_share: float = 0.5
    # Whether the background head also reads the pretrained, unadapted pooled features (heads.py).
    # Measured and off: with two real backdrop photos left out of training it changed background
    # on them by +5.0, +0.8 and -7.5 points (three folds), and a full build gained nothing on the shifted set
    # (model_build/README.md, "Measured after 1.7.0 and not shipped: the background head reading
    # the pretrained features"; model_build/experiments/backdrop_lpo.py).
    background_reads_pretrained: bool = False

    def __post_init__(self):
        object.__setattr__(self, "adapt", Adaptation(self.adapt))  # also accepts the value, e.g. from a manifest

    @classmethod
    def from_manifest(cls, config: dict) -> "TrainConfig":
        """The configuration a manifest's ``training.config`` records (models built before 1.1.0
        recorded ``adapt_head_conv`` instead of ``adapt``)."""
        kw = {k: v for k, v in config.items() if k in cls.__dataclass_fields__}
        if "adapt_head_conv" in config and "adapt" not in config:
            kw["adapt"] = Adaptation.HEAD_CONV if config["adapt_head_conv"] else Adaptation.NONE
        kw.setdefault("int8_share", 0.0)  # before 1.7.0 the heads saw fp32 maps only
        kw.setdefault("background_reads_pretrained", False)  # not recorded before the option existed
        return cls(**kw)


def _losses(logits: dict[str, torch.Tensor], y: torch.Tensor, smoothing: float) -> dict[str, torch.Tensor]:
    sev = y[:, 4:]
    known = ~torch.isnan(sev)
    defect_loss = (
        F.binary_cross_entropy_with_logits(logits["defects"][known], sev[known])
        if bool(known.any()) else logits["defects"].sum() * 0.0
    )
    shown = background_known(y)  # background "none" (no backdrop in the frame) has nothing to learn
    background_loss = (
        F.cross_entropy(logits["background"][shown], y[shown, 0].long(), label_smoothing=smoothing)
        if bool(shown.any()) else logits["background"].sum() * 0.0
    )
    return {
        "defects": defect_loss,  # auxiliary: per-defect severities, where the data names them
        "background": background_loss,
        "angle": F.cross_entropy(logits["angle"], y[:, 1].long(), label_smoothing=smoothing),
        "crop": F.binary_cross_entropy_with_logits(logits["crop"][:, 0], y[:, 2]),
        # BCE against the soft 0..1 target: a bounded regression whose output is already a score.
        "quality": F.binary_cross_entropy_with_logits(logits["quality"][:, 0], y[:, 3]),
    }


def _batches(n: int, size: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for s in range(0, n, size):
        yield order[s : s + size]


@torch.no_grad()
def predict_logits(trainer: HeadTrainer, fs: FeatureSet, view: int = 0, batch: int = 256) -> dict[str, np.ndarray]:
    trainer.eval()
    out: dict[str, list[np.ndarray]] = {}
    for s in range(0, len(fs), batch):
        maps = torch.from_numpy(fs.maps[s : s + batch, view].astype(np.float32))
        q = torch.from_numpy(fs.quality[s : s + batch, view])
        for k, v in trainer(maps, q).items():
            out.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def quick_metrics(logits: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    q = 1.0 / (1.0 + np.exp(-logits["quality"][:, 0]))
    return {
        "background_acc": background_accuracy(logits["background"], labels),
        "angle_acc": float((logits["angle"].argmax(1) == labels[:, 1]).mean()),
        "crop_acc": float(((logits["crop"][:, 0] > 0) == (labels[:, 2] > 0.5)).mean()),
        "quality_mae": float(np.abs(q - labels[:, 3]).mean()),
    }


def make_adapter(backbone: EfficientNetLite0, adapt: Adaptation) -> HeadConvAdapter | BlockAdapter | None:
    n = len(backbone._blocks)
    if adapt.copies_last_block:
        return BlockAdapter(backbone._blocks[-1], n, train_expand=adapt is Adaptation.LAST_BLOCK)
    if adapt is Adaptation.HEAD_CONV:
        return HeadConvAdapter(backbone._conv_head, backbone._bn1, n)
    return None


def cached_blocks(adapt: Adaptation) -> int | None:
    """The ``upto_block`` the features cache must hold for this adaptation (None: every block),
    i.e. its adapter's ``input_blocks``."""
    return sum(st.repeats for st in LITE0_STAGES) - 1 if adapt.copies_last_block else None


def train_heads(
    backbone: EfficientNetLite0,
    train: FeatureSet,
    cfg: TrainConfig = TrainConfig(),
    val: FeatureSet | None = None,
    log: Callable[[str], None] = print,
    init_seed: int | None = None,
) -> ScreenerHeads:
    """``init_seed`` (default ``cfg.seed``) seeds torch, which draws the heads' initial weights and
    then dropout and the feature noise; ``cfg.seed`` draws the batches, views and INT8 rows. Apart,
    they let two runs share their starting point and differ in their data order
    (model_build/experiments/head_ensemble.py averages such runs' weights)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed if init_seed is None else init_seed)  # before the heads are built: their initial weights come from it
    adapter = make_adapter(backbone, cfg.adapt)
    heads = ScreenerHeads(n_quality=train.quality.shape[-1], dropout=cfg.dropout, adapter=adapter,
                          background_reads_pretrained=cfg.background_reads_pretrained)
    depth = input_blocks(backbone, heads)
    # The cache holds one block's output per adaptation: catch a mix-up before it trains garbage.
    with torch.no_grad():
        want = backbone.features(torch.zeros(1, 3, 32, 32), upto_block=depth).shape[1]
    if train.maps.shape[2] != want:
        raise ValueError(f"features have {train.maps.shape[2]} channels; adapting {cfg.adapt.value} needs the "
                         f"{want}-channel output of the first {depth} blocks")
    q_all = torch.from_numpy(train.quality[:, 0])
    heads.set_quality_stats(q_all.mean(0), q_all.std(0))
    trainer = HeadTrainer(backbone, heads)
    backbone.eval()  # frozen, batch-norm statistics included
    for p in backbone.parameters():
        p.requires_grad_(False)
    fit(trainer, heads, train, cfg, pretrained=[p for p in (adapter.parameters() if adapter else []) if p.requires_grad],
        val=val, log=log)
    return heads


def training_maps(fp32: np.ndarray, int8: np.ndarray | None, cfg: TrainConfig, rng: np.random.Generator,
                  ch_std: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """One batch's maps: each row from the INT8 backbone with probability ``cfg.int8_share``
    (when there are INT8 maps), else the fp32 row plus the Gaussian noise that stands in for
    quantisation error. INT8 rows get no noise: they carry the real error. Also returns which
    rows came from the INT8 backbone."""
    fp32_rows = None
    from_int8 = np.zeros(len(fp32), bool)
    if int8 is not None:
        from_int8 = rng.random(len(fp32)) < cfg.int8_share
        fp32 = np.where(from_int8[:, None, None, None], int8, fp32)
        fp32_rows = torch.from_numpy(~from_int8).float()[:, None, None, None]
    maps = torch.from_numpy(fp32.astype(np.float32))
    if cfg.feature_noise:
        noise = torch.randn_like(maps) * (cfg.feature_noise * ch_std)
        maps = maps + (noise if fp32_rows is None else noise * fp32_rows)
    return maps, from_int8


@torch.no_grad()
def pretrained_pooled_table(trainer: HeadTrainer, maps: np.ndarray, batch: int = 256) -> np.ndarray:
    """``trainer.pretrained_pooled`` for every cached map (N, views, ...) -> (N, views, 1280),
    computed once: per batch it would cost ~20 % of head training. These are the maps without
    the training noise; the INT8 rows carry the real quantisation error to this branch."""
    n, views = maps.shape[:2]
    flat = maps.reshape(n * views, *maps.shape[2:])
    out = [trainer.pretrained_pooled(torch.from_numpy(flat[s : s + batch].astype(np.float32))).numpy()
           for s in range(0, len(flat), batch)]
    return np.concatenate(out).reshape(n, views, -1)


def fit(model: nn.Module, heads: ScreenerHeads, train: FeatureSet, cfg: TrainConfig, pretrained: list[nn.Parameter],
        val: FeatureSet | None = None, log: Callable[[str], None] = print) -> None:
    """The training loop: ``model(maps, quality)`` gives the heads' logits from cached maps.

    ``pretrained``: trainable parameters that start from pretrained weights (copies of backbone
    layers), which take a smaller step and decay towards their start, not towards zero. ``model.train()``
    must leave frozen layers' batch norms in eval mode."""
    rng = np.random.default_rng(cfg.seed)
    ids = {id(p) for p in pretrained}
    groups = [{"params": [p for p in heads.parameters() if p.requires_grad and id(p) not in ids]}]
    if pretrained:
        groups.append({"params": pretrained, "lr": cfg.lr * cfg.adapter_lr_scale, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n, views = len(train), train.maps.shape[1]
    steps = cfg.epochs * math.ceil(n / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g.get("lr", cfg.lr) for g in groups], total_steps=steps, pct_start=0.15)
    labels = torch.from_numpy(train.labels)
    ch_std = torch.from_numpy(train.maps[:, 0].astype(np.float32).std(axis=(0, 2, 3)))[None, :, None, None]
    int8 = train.maps_int8 if cfg.int8_share > 0 else None
    t0 = time.monotonic()
    pre = None
    if heads.background_reads_pretrained:
        pre = (pretrained_pooled_table(model, train.maps), None if int8 is None else pretrained_pooled_table(model, int8))
        log(f"  pretrained pooled features for the background head: {time.monotonic() - t0:.0f}s")
    for epoch in range(cfg.epochs):
        model.train()
        totals: dict[str, float] = {}
        for idx in _batches(n, cfg.batch_size, rng):
            v = rng.integers(0, views, size=len(idx))
            maps, from_int8 = training_maps(train.maps[idx, v], None if int8 is None else int8[idx, v], cfg, rng, ch_std)
            q = torch.from_numpy(train.quality[idx, v])
            extra = ()
            if pre is not None:
                rows = pre[0][idx, v] if pre[1] is None else np.where(from_int8[:, None], pre[1][idx, v], pre[0][idx, v])
                extra = (torch.from_numpy(rows),)
            losses = _losses(model(maps, q, *extra), labels[idx], cfg.label_smoothing)
            loss = sum(losses.values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            for k, val_ in losses.items():
                totals[k] = totals.get(k, 0.0) + val_.item() * len(idx)
        elapsed = time.monotonic() - t0
        eta = elapsed / (epoch + 1) * (cfg.epochs - epoch - 1)
        msg = " ".join(f"{k}={v / n:.3f}" for k, v in totals.items())
        if val is not None and (epoch % 5 == 4 or epoch == cfg.epochs - 1):
            m = quick_metrics(predict_logits(model, val), val.labels)
            msg += "  | val " + " ".join(f"{k}={v:.3f}" for k, v in m.items())
        log(f"  epoch {epoch + 1}/{cfg.epochs}  {msg}  ({elapsed:.0f}s, ETA {eta:.0f}s)")
    model.eval()


def _nll_at(t: float, logits: np.ndarray, target: np.ndarray, binary: bool) -> float:
    z = torch.from_numpy(logits / t)
    y = torch.from_numpy(target)
    if binary:
        return float(F.binary_cross_entropy_with_logits(z[:, 0], y.float()))
    return float(F.cross_entropy(z, y.long()))


def fit_temperatures(trainer: HeadTrainer, val: FeatureSet, log: Callable[[str], None] = print) -> list[float]:
    """Per-head temperature minimising held-out NLL (background, angle, crop), set in the heads.

    Label smoothing leaves a model under-confident by design; a temperature undoes that without
    changing any ranking, so accuracies are untouched and the probabilities mean what they say.
    """
    logits = predict_logits(trainer, val)
    grid = np.exp(np.linspace(math.log(0.3), math.log(8.0), 81))
    temps = []
    for col, (name, binary) in enumerate((("background", False), ("angle", False), ("crop", True))):
        rows = background_known(val.labels) if name == "background" else slice(None)
        z, y = logits[name][rows], val.labels[rows, col]
        nll = [_nll_at(t, z, y, binary) for t in grid]
        best = float(grid[int(np.argmin(nll))])
        log(f"  temperature {name}: {best:.2f} (val NLL {nll[int(np.argmin(nll))]:.3f}, at T=1 {_nll_at(1.0, z, y, binary):.3f})")
        temps.append(best)
    trainer.heads.temperature.copy_(torch.tensor(temps))
    return temps
