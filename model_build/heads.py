"""The trainable heads: background, angle, crop and quality from one backbone pass.

Inputs are the backbone's final feature map (N, 1280, 7, 7), its global average (N, 1280) and
the hand-measured quality statistics (N, 11):
- the pooled vector says *what* is in the frame (backdrop, view, product);
- a 1x1-reduced copy of the 7x7 map keeps *where* it is. Pooling throws away layout, and crop
  defects (product cut by the frame, too small, off-centre) are layout;
- the quality statistics carry blur, noise and exposure measured at the analysis scale, where a
  3000 px photo's blur is still visible (at 224 px it is not).

The quality statistics are standardised inside the graph with training-set constants, so the
ONNX input is exactly what ``screener.preprocess.prepare`` computes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_CHANNELS = 1280
GRID = 7
OUTPUTS = {"background": 3, "angle": 4, "crop": 1, "quality": 1}


class ScreenerHeads(nn.Module):
    def __init__(self, n_quality: int, spatial_ch: int = 24, hidden: int = 128, head_hidden: int = 64, dropout: float = 0.2):
        super().__init__()
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
        # Temperatures fitted after training on held-out data (calibration); 1 = untouched.
        self.register_buffer("temperature", torch.ones(3))  # background, angle, crop

    def set_quality_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.q_mean.copy_(mean)
        self.q_std.copy_(torch.clamp(std, min=1e-3))

    def logits(self, fmap: torch.Tensor, pooled: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        q = (quality - self.q_mean) / self.q_std
        s = F.relu(self.reduce(fmap)).flatten(1)
        z = torch.cat([F.relu(self.spatial(s)), F.relu(self.pooled(pooled)), F.relu(self.qproj(q))], dim=1)
        z = self.drop(z)
        return {name: head(z) for name, head in self.out.items()}

    def probabilities(self, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Serving outputs: softmax / sigmoid with the calibration temperatures applied."""
        t = self.temperature
        return {
            "background": torch.softmax(logits["background"] / t[0], dim=1),
            "angle": torch.softmax(logits["angle"] / t[1], dim=1),
            "crop": torch.sigmoid(logits["crop"] / t[2]),
            "quality": torch.sigmoid(logits["quality"]),
        }
