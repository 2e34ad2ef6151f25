"""The exported graph: backbone + heads + zero-shot category, one forward pass, named outputs.

Inputs:  image [N,3,224,224] float32, quality_features [N,11] float32 (both from ``prepare``).
Outputs: background [N,3], angle [N,4], crop [N,1], quality [N,1], category [N,C].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .categories import grouping_matrix
from .efficientnet_lite import EfficientNetLite0
from .heads import ScreenerHeads

OUTPUT_NAMES = ("background", "angle", "crop", "quality", "category")


class ScreenerNet(nn.Module):
    def __init__(self, backbone: EfficientNetLite0, heads: ScreenerHeads):
        super().__init__()
        self.backbone = backbone
        self.heads = heads
        self.register_buffer("category_matrix", torch.from_numpy(grouping_matrix()))

    def forward(self, image: torch.Tensor, quality_features: torch.Tensor):
        b = self.backbone
        block_out = b.features(image, upto_block=len(b._blocks))
        fmap = F.relu6(b._bn1(b._conv_head(block_out)))
        pooled = F.adaptive_avg_pool2d(fmap, 1).flatten(1)  # exports as GlobalAveragePool
        imagenet = torch.softmax(b._fc(pooled), dim=1)
        category = imagenet @ self.category_matrix
        if self.heads.adapter is not None:
            fmap = self.heads.adapter(block_out)
            pooled = F.adaptive_avg_pool2d(fmap, 1).flatten(1)
        p = self.heads.probabilities(self.heads.logits(fmap, pooled, quality_features))
        return p["background"], p["angle"], p["crop"], p["quality"], category


class HeadTrainer(nn.Module):
    """Training-time view: the head conv on cached block-15 maps, then the heads.

    The backbone up to block 15 is frozen and its output cached once per image; the head conv
    (320 -> 1280: the heads' trainable adapter copy, or the frozen original) is cheap enough to
    run per batch, which also keeps the cache 4x smaller than caching the 1280-channel map.
    """

    def __init__(self, backbone: EfficientNetLite0, heads: ScreenerHeads):
        super().__init__()
        self.backbone = backbone
        self.heads = heads

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen, batch-norm statistics included
        return self

    def head_features(self, block_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.heads.adapter is not None:
            fmap = self.heads.adapter(block_out)
            return fmap, fmap.mean(dim=(2, 3))
        b = self.backbone
        with torch.no_grad():
            fmap = F.relu6(b._bn1(b._conv_head(block_out)))
            pooled = fmap.mean(dim=(2, 3))
        return fmap, pooled

    def forward(self, block_out: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        fmap, pooled = self.head_features(block_out)
        return self.heads.logits(fmap, pooled, quality)
