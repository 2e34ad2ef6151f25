"""The exported graph: backbone + heads + zero-shot category, one forward pass, named outputs.

Inputs:  image [N,3,224,224] float32, quality_features [N,Q] float32 (both from ``prepare``;
         Q = 23 for quality features v3).
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


def head_conv(backbone: EfficientNetLite0):
    """The backbone's own (frozen) 1x1 head conv, 320 -> 1280, as a function of block 15's output."""
    return lambda x: F.relu6(backbone._bn1(backbone._conv_head(x)))


def pretrained_fmap(backbone: EfficientNetLite0, tapped: torch.Tensor, tap: int) -> torch.Tensor:
    """The unadapted backbone's 1280-channel map from the output of its first ``tap`` blocks: the
    frozen blocks after the tap, then the frozen head conv. The category reads it, and so do the
    heads where nothing is adapted or the background reads the pretrained features."""
    x = tapped
    for block in backbone._blocks[tap:]:
        x = block(x)
    return head_conv(backbone)(x)


def input_blocks(backbone: EfficientNetLite0, heads: ScreenerHeads) -> int:
    """How many backbone blocks run before the heads' trainable part: what the cache must hold."""
    return heads.adapter.input_blocks if heads.adapter is not None else len(backbone._blocks)


class ScreenerNet(nn.Module):
    def __init__(self, backbone: EfficientNetLite0, heads: ScreenerHeads):
        super().__init__()
        self.backbone = backbone
        self.heads = heads
        self.register_buffer("category_matrix", torch.from_numpy(grouping_matrix()))

    def forward(self, image: torch.Tensor, quality_features: torch.Tensor):
        b = self.backbone
        tap = input_blocks(b, self.heads)
        tapped = b.features(image, upto_block=tap)
        head = head_conv(b)
        fmap = pretrained_fmap(b, tapped, tap)
        pretrained = pooled = F.adaptive_avg_pool2d(fmap, 1).flatten(1)  # exports as GlobalAveragePool
        imagenet = torch.softmax(b._fc(pretrained), dim=1)
        category = imagenet @ self.category_matrix
        if self.heads.adapter is not None:
            fmap = self.heads.adapter(tapped, head)
            pooled = F.adaptive_avg_pool2d(fmap, 1).flatten(1)
        p = self.heads.probabilities(self.heads.logits(fmap, pooled, quality_features, pretrained))
        return p["background"], p["angle"], p["crop"], p["quality"], category


class HeadTrainer(nn.Module):
    """Training-time view: the heads' trainable part on cached backbone maps, then the heads.

    The backbone up to the adapter's input is frozen and its output cached once per image: block
    15's output for the head-conv copy (or no adapter), block 14's for the block-15 copy. What
    follows is cheap enough to run per batch at 7x7, which also keeps the cache 4-7x smaller than
    caching the 1280-channel map.
    """

    def __init__(self, backbone: EfficientNetLite0, heads: ScreenerHeads):
        super().__init__()
        self.backbone = backbone
        self.heads = heads

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen, batch-norm statistics included
        return self

    def head_features(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        head = head_conv(self.backbone)
        if self.heads.adapter is not None:  # gradients reach the adapter through the frozen conv
            fmap = self.heads.adapter(maps, head)
            return fmap, fmap.mean(dim=(2, 3))
        with torch.no_grad():
            fmap = head(maps)
        return fmap, fmap.mean(dim=(2, 3))

    @torch.no_grad()
    def pretrained_pooled(self, maps: torch.Tensor) -> torch.Tensor:
        """The unadapted backbone's pooled features from cached maps, as ScreenerNet computes them
        for the category: the frozen blocks after the cache point, then the frozen head conv."""
        return pretrained_fmap(self.backbone, maps, input_blocks(self.backbone, self.heads)).mean(dim=(2, 3))

    def forward(self, maps: torch.Tensor, quality: torch.Tensor,
                pretrained_pooled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``pretrained_pooled``: precomputed ``self.pretrained_pooled(maps)``, if the caller has it."""
        fmap, pooled = self.head_features(maps)
        if self.heads.background_reads_pretrained and pretrained_pooled is None:
            pretrained_pooled = self.pretrained_pooled(maps)
        return self.heads.logits(fmap, pooled, quality, pretrained_pooled)
