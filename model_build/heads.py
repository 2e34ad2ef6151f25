"""The trainable heads: background, angle, crop and quality from one backbone pass.

Inputs are the backbone's final feature map (N, 1280, 7, 7), its global average (N, 1280) and
the hand-measured quality statistics (N, 23 for the default feature set v3; 11 for v1):
- the pooled vector says *what* is in the frame (backdrop, view, product);
- a 1x1-reduced copy of the 7x7 map keeps *where* it is. Pooling throws away layout, and crop
  defects (product cut by the frame, too small, off-centre) are layout;
- the quality statistics carry blur, noise and exposure measured at the analysis scale, where a
  3000 px photo's blur is still visible (at 224 px it is not), and, from v3 on, the whole
  frame's tonal range and border ring (exposure and backdrop).

The quality statistics are standardised inside the graph with training-set constants, so the
ONNX input is exactly what ``screener.preprocess.prepare`` computes.

Quality is structured the way catalog photos fail: a photo is as good as its worst defect. The
quality path predicts one severity per defect kind (blur, motion blur, noise, under/over-
exposure, JPEG, low resolution) and the score is ``1 - max(severity)``. When the training data
names its defects (the synthetic catalog does), each severity is supervised directly, which is
far more data-efficient than learning the max from the score alone; with a retailer's CSV only
the score supervises, and the seven severities are latent.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .dataset import DEFECT_NAMES

FEATURE_CHANNELS = 1280
GRID = 7
OUTPUTS = {"background": 3, "angle": 4, "crop": 1}


class HeadConvAdapter(nn.Module):
    """A trainable copy of the backbone's last 1x1 conv (320 -> 1280), batch norm frozen.

    The pretrained conv stays untouched for the zero-shot category (the ImageNet head must see
    the features it was trained on); this copy, initialised from it, adapts to the photo
    standards. Measured (held-out 20 % of 900 synthetic photos): background +2.8, angle +2.7,
    crop +1.1 points against heads on the frozen conv; cost +0.4 MB INT8, ~20 M MAC.
    """

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, n_blocks: int):
        super().__init__()
        self.input_blocks = n_blocks  # reads the output of every block
        self.conv = copy.deepcopy(conv)
        self.bn = copy.deepcopy(bn)
        for p in self.bn.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.bn.eval()  # running statistics stay the pretrained ones
        return self

    def forward(self, block_out: torch.Tensor, head_conv: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        # ``head_conv`` (the backbone's own) is unused: this adapter is its own head conv. The
        # argument keeps one calling convention for every adapter (network.py).
        return F.relu6(self.bn(self.conv(block_out)))


class BlockAdapter(nn.Module):
    """A trainable copy of the backbone's last MBConv block (block 15, 192 -> 320 channels),
    batch norms frozen, read through the backbone's own head conv.

    The head conv stays frozen and is the very module the category path uses, so the exported
    graph holds its weights once: this costs +0.19 M INT8 weights over ``HeadConvAdapter`` and
    stays inside 6 MiB. Measured (model_build/experiments/block15_ab.py, fp32, shifted set, 3
    seeds): background +3.0, angle +5.3, crop accuracy +2.7 points over the head-conv copy, and
    far steadier across training seeds. Its input is the output of the first 15 blocks, which is
    what the features cache holds for it (``input_blocks``).
    """

    def __init__(self, block: nn.Module, n_blocks: int, train_expand: bool = True):
        super().__init__()
        self.input_blocks = n_blocks - 1
        self.block = copy.deepcopy(block)
        for name, m in self.block.named_modules():  # a copy of a frozen block is frozen: thaw it
            for p in m.parameters(recurse=False):
                # Batch norms keep their pretrained statistics and affine terms. A frozen expand
                # conv stays equal to the original's, so ONNX Runtime's optimiser stores it once.
                p.requires_grad_(not isinstance(m, nn.BatchNorm2d) and (train_expand or name != "_expand_conv"))

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self.modules():  # running statistics stay the pretrained ones
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, block14: torch.Tensor, head_conv: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return head_conv(self.block(block14))


class ScreenerHeads(nn.Module):
    def __init__(self, n_quality: int, spatial_ch: int = 24, hidden: int = 128, head_hidden: int = 64,
                 dropout: float = 0.2, adapter: HeadConvAdapter | BlockAdapter | None = None,
                 background_reads_pretrained: bool = False):
        super().__init__()
        self.adapter = adapter
        self.background_reads_pretrained = background_reads_pretrained
        self.register_buffer("q_mean", torch.zeros(n_quality))
        self.register_buffer("q_std", torch.ones(n_quality))
        self.reduce = nn.Conv2d(FEATURE_CHANNELS, spatial_ch, 1)
        self.spatial = nn.Linear(spatial_ch * GRID * GRID, hidden)
        self.pooled = nn.Linear(FEATURE_CHANNELS, hidden)
        self.qproj = nn.Linear(n_quality, 32)
        trunk = 2 * hidden + 32
        self.drop = nn.Dropout(dropout)
        self.out = nn.ModuleDict(
            {
                name: nn.Sequential(nn.Linear(trunk, head_hidden), nn.ReLU(), nn.Linear(head_hidden, k))
                for name, k in OUTPUTS.items()
            }
        )
        if background_reads_pretrained:
            # The background head also reads the pretrained network's own pooled features (the
            # vector the zero-shot category is computed from, so serving gets it for free). The
            # adapted features learn the training set's few real backdrop photos by heart; the
            # pretrained ones keep what ImageNet's 1.2 M photos taught about scenes and surfaces.
            # An option, off by default: measured with backdrop photos left out of training, it
            # did not carry to the shifted set (TrainConfig.background_reads_pretrained).
            self.pretrained_proj = nn.Linear(FEATURE_CHANNELS, head_hidden)
            self.out["background"] = nn.Sequential(
                nn.Linear(trunk + head_hidden, head_hidden), nn.ReLU(), nn.Linear(head_hidden, OUTPUTS["background"])
            )
        # Quality path: the standardised statistics alone, without the pooled image features.
        # Measured (4-fold CV, 500 synthetic photos): quality MAE 0.185 from the statistics alone
        # against 0.235 with the 320-d pooled features added, which only gave it room to overfit.
        self.defects = nn.Sequential(
            nn.Linear(n_quality, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, len(DEFECT_NAMES))
        )
        # Temperatures fitted after training on held-out data (calibration); 1 = untouched.
        self.register_buffer("temperature", torch.ones(3))  # background, angle, crop

    def set_quality_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.q_mean.copy_(mean)
        self.q_std.copy_(torch.clamp(std, min=1e-3))

    def logits(self, fmap: torch.Tensor, pooled: torch.Tensor, quality: torch.Tensor,
               pretrained_pooled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``pooled``: the (adapted) features' global average; ``pretrained_pooled``: the
        unadapted backbone's, needed when the background head reads it."""
        q = (quality - self.q_mean) / self.q_std
        s = F.relu(self.reduce(fmap)).flatten(1)
        zp, zq = F.relu(self.pooled(pooled)), F.relu(self.qproj(q))
        z = self.drop(torch.cat([F.relu(self.spatial(s)), zp, zq], dim=1))
        zb = z
        if self.background_reads_pretrained:
            if pretrained_pooled is None:
                raise ValueError("these heads' background reads the pretrained pooled features: pass them")
            zb = torch.cat([z, self.drop(F.relu(self.pretrained_proj(pretrained_pooled)))], dim=1)
        # In the heads' order: the order z is used in sets the order its gradients are summed, and
        # a rebuild of an existing recipe must give the same bytes.
        out = {name: head(zb if name == "background" else z) for name, head in self.out.items()}
        out["defects"] = self.defects(q)
        # quality = 1 - max_k sigmoid(d_k) = sigmoid(-max_k d_k): the worst defect sets the score.
        out["quality"] = -out["defects"].amax(dim=1, keepdim=True)
        return out

    def probabilities(self, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Serving outputs: softmax / sigmoid with the calibration temperatures applied."""
        t = self.temperature
        return {
            "background": torch.softmax(logits["background"] / t[0], dim=1),
            "angle": torch.softmax(logits["angle"] / t[1], dim=1),
            "crop": torch.sigmoid(logits["crop"] / t[2]),
            "quality": torch.sigmoid(logits["quality"]),
        }
