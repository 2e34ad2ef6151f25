"""The shipped model gives the same scores on an x86 CPU without VNNI as on this one.

Without VNNI, ONNX Runtime's fast INT8 kernels add pairs of u8 x s8 products in a saturating
16-bit register, and the verdicts drift. On an emulated Haswell, model 1.5.0 gave another angle on
11-15 % of photos (README, "The same verdicts on every CPU"). Serving turns on ORT's exact kernels
on such CPUs (``screener.classifier.session_options``). This runs the serving classifier under
``qemu-x86_64 -cpu Haswell`` (AVX2, no AVX-512, no VNNI) and compares it with this machine's
scores. It also shows that the emulation really takes the saturating path: the fast kernels'
scores there differ. Needs Debian's qemu-user (.ci/run installs it); skips without it.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from screener.classifier import Classifier, session_options
from screener.manifest import load_manifest
from model_build.dataset import serving_input

MODEL_DIR = Path(__file__).resolve().parents[2] / "layers" / "model"
QEMU = shutil.which("qemu-x86_64")
HEADS = ("background", "angle", "crop", "quality", "category")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(QEMU is None or platform.machine() != "x86_64", reason="needs qemu-x86_64 (Debian qemu-user) on x86-64"),
]

# Runs inside the emulated CPU: the serving classifier as it loads on Lambda, and the fast
# kernels forced on, on the same prepared inputs.
CHILD = r"""
import json, sys
import numpy as np
import onnxruntime as ort
from screener.classifier import Classifier, cpu_sums_int8_exactly, session_options
from screener.preprocess import ModelInput
model_dir, inputs = sys.argv[1], np.load(sys.argv[2])
clf = Classifier.from_dir(model_dir)
fast = ort.InferenceSession(f"{model_dir}/model.onnx", session_options(1, exact_int8=False), providers=["CPUExecutionProvider"])
out = {"exact_here": cpu_sums_int8_exactly(), "serving": [], "fast": []}
for px, q in zip(inputs["pixels"], inputs["quality"]):
    s = clf.predict(ModelInput(px[None], q[None]))
    out["serving"].append([list(s.background.values()), list(s.angle.values()), [s.crop_ok], [s.quality], list(s.category.values())])
    out["fast"].append([np.ravel(v).tolist() for v in fast.run(None, {"image": px[None], "quality_features": q[None]})])
print(json.dumps(out))
"""


def _inputs(skimage_data: Path) -> tuple[np.ndarray, np.ndarray]:
    from model_build.synth import encode, render_sample

    clf_input = load_manifest(MODEL_DIR)[0].input
    photos = [encode(render_sample(i, 77, "heldout_shift")) for i in range(6)]
    photos.append((skimage_data / "coffee.png").read_bytes())
    xs = [serving_input(p, clf_input) for p in photos]
    return np.concatenate([x.pixels for x in xs]), np.concatenate([x.quality for x in xs])


def _native(pixels: np.ndarray, quality: np.ndarray) -> list[list[list[float]]]:
    from screener.preprocess import ModelInput

    clf = Classifier.from_dir(MODEL_DIR)
    rows = []
    for px, q in zip(pixels, quality):
        s = clf.predict(ModelInput(px[None], q[None]))
        rows.append([list(s.background.values()), list(s.angle.values()), [s.crop_ok], [s.quality], list(s.category.values())])
    return rows


def test_serving_scores_are_the_same_on_a_cpu_without_vnni(tmp_path, skimage_data):
    pixels, quality = _inputs(skimage_data)
    np.savez(tmp_path / "inputs.npz", pixels=pixels, quality=quality)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    res = subprocess.run([QEMU, "-cpu", "Haswell", sys.executable, "-c", CHILD, str(MODEL_DIR), str(tmp_path / "inputs.npz")],
                         env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    emulated = json.loads(res.stdout.strip().splitlines()[-1])
    assert emulated["exact_here"] is False  # the emulated CPU lacks VNNI, and serving knows it
    native = _native(pixels, quality)
    # Serving: the same scores (float ops round differently per instruction set: 1e-6).
    for i, (a, b) in enumerate(zip(emulated["serving"], native)):
        for head, x, y in zip(HEADS, a, b):
            assert np.allclose(x, y, atol=1e-6, rtol=0), (i, head, x, y)
    # The fast kernels there do drift: without this the comparison above would prove nothing.
    drift = max(float(np.abs(np.asarray(x) - np.asarray(y)).max())
                for a, b in zip(emulated["fast"], native) for x, y in zip(a[:4], b[:4]))
    assert drift > 1e-3, drift


def test_serving_uses_exact_kernels_exactly_where_the_fast_ones_saturate():
    from screener.classifier import cpu_sums_int8_exactly

    so = session_options(1)
    expected = None if cpu_sums_int8_exactly() else "1"
    try:
        got = so.get_session_config_entry("session.x64quantprecision")
    except Exception:  # ORT raises for an entry that was never set
        got = None
    assert got == expected
