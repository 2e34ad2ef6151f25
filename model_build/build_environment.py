"""What a build ran on: the library versions and the CPU features that decide its floating-point sums.

A build is deterministic on one machine: a fresh clone rebuilt 1.5.0's model.onnx bit for bit.
It is not deterministic across CPUs. torch picks its kernels by instruction set (AVX2, AVX-512),
and different kernels round their sums differently. On 30 Nov, the same commit on an AVX-512 machine
trained different heads and chose different thresholds (model_build/README.md, "Measured build
time"). The manifest records this, so a reproduction can tell whether to expect identical bytes.
"""
from __future__ import annotations

import platform
from pathlib import Path

# CPU features that change which kernels torch and ONNX Runtime run. VNNI also decides whether
# ONNX Runtime's U8S8 kernels can saturate (model_build/README.md, "Left undone").
_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile")


def _cpu() -> tuple[str, list[str]]:
    """The CPU's model name and which of _FLAGS it has (Linux; elsewhere what platform says)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown", []
    model, flags = "unknown", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model, [f for f in _FLAGS if f in flags]


def build_environment() -> dict:
    import numpy
    import onnxruntime
    import PIL
    import torch

    model, flags = _cpu()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "machine": platform.machine(),
        "cpu": model,
        "cpu_flags": flags,
    }
