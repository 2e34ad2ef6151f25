"""The whole pipeline for real, at toy scale: generated photos -> CSV -> train -> export ->
quantise -> manifest -> served by screener.classifier.Classifier and judged by the policy."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from screener.classifier import Classifier
from screener.policy import Policy, Thresholds, decide

from model_build.build import train_from_csv
from screener.preprocess import FEATURE_SETS
from model_build.dataset import serving_input
from model_build.export import run_onnx, session
from model_build.train import TrainConfig

N_IMAGES = 30
LONG_SIDE = 480  # low resolution: the test is about plumbing, not accuracy


def _write_small_catalog(root):
    from model_build.synth import encode, render_spec, sample_spec

    lines = ["path,background,angle,crop,quality"]
    for i in range(N_IMAGES):
        spec = sample_spec(i, 11, "train")
        scale = LONG_SIDE / max(spec.width, spec.height)
        spec = dataclasses.replace(spec, width=max(64, int(spec.width * scale)), height=max(64, int(spec.height * scale)))
        sample = render_spec(spec)
        name = f"img_{i:03d}.{'jpg' if sample.encoding == 'JPEG' else 'png'}"
        (root / name).write_bytes(encode(sample))
        lb = sample.labels
        lines.append(f"{name},{lb.background},{lb.angle},{'adequate' if lb.crop_ok else 'inadequate'},{lb.quality:.3f}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


@pytest.mark.slow
@pytest.mark.parametrize("quality_features", sorted(FEATURE_SETS))
def test_tiny_model_end_to_end_and_served(tmp_path, quality_features):
    csv_path = _write_small_catalog(tmp_path)
    out = tmp_path / "model"
    train_from_csv(
        csv_path, out, TrainConfig(epochs=1, batch_size=16), workers=1, val_fraction=0.3, cache_dir=None,
        package_overrides={"latency_runs": 5, "quant_variants": ("uint8 activations, fp32: first_conv", "int8 activations, fp32: none")},
        log=lambda _: None, quality_features=quality_features,
    )
    manifest = json.loads((out / "manifest.json").read_text())
    ev = manifest["evaluation"]
    # What a rebuild must match to give the same bytes: versions and the CPU's instruction set.
    env = manifest["training"]["environment"]
    assert env["torch"].startswith("2.13.0") and env["onnxruntime"] and env["torch_cpu_capability"]
    assert set(env["cpu_flags"]) <= {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile"}
    # Export check: ONNX Runtime fp32 agrees with torch.
    assert max(ev["onnx_fp32_vs_torch_max_abs_diff"].values()) < 1e-4
    assert (out / "model.onnx").stat().st_size <= 6 * 2**20
    assert set(ev["quantization"]["variants"]) == {"uint8 activations, fp32: first_conv", "int8 activations, fp32: none"}
    # The serving file's last step: an INT8 stem ships as SpaceToDepth + a 2x2 conv; an fp32 one stays.
    stem_in_fp32 = "first_conv" in ev["quantization"]["variants"][ev["quantization"]["chosen"]]["kept_fp32"]
    assert ev["serving_graph"]["stem"]["rewritten"] == (None if stem_in_fp32 else "/_conv_stem/Conv")

    # Served through the real classifier, from the manifest alone.
    clf = Classifier.from_dir(out)
    assert clf.manifest.input.quality_features.version == quality_features
    assert clf.manifest.input.quality_features.names == FEATURE_SETS[quality_features].names
    assert clf.manifest.input.mean == pytest.approx((127 / 255,) * 3)
    x = serving_input((tmp_path / "img_000.jpg").read_bytes() if (tmp_path / "img_000.jpg").exists()
                      else next(tmp_path.glob("img_*")).read_bytes(), clf.manifest.input)
    s = clf.predict(x)
    assert set(s.background) == {"white", "lifestyle", "other"}
    assert set(s.angle) == {"front", "side", "angle", "detail"}
    assert sum(s.background.values()) == pytest.approx(1, abs=0.02)
    assert sum(s.category.values()) == pytest.approx(1, abs=0.05)
    assert 0 <= s.crop_ok <= 1 and 0 <= s.quality <= 1
    decision = decide(s, [], Policy(thresholds=Thresholds.from_mapping(clf.manifest.thresholds)))
    assert decision.verdict.value in ("approved", "review")

    # INT8 against the fresh fp32 export on the same prepared inputs.
    fp32 = out.parent / "model.work" / "model.fp32.onnx"
    imgs = sorted(tmp_path.glob("img_*"))[:6]
    xs = [serving_input(p.read_bytes(), clf.manifest.input) for p in imgs]
    px = np.concatenate([x.pixels for x in xs])
    q = np.concatenate([x.quality for x in xs])
    o32 = run_onnx(session(fp32), px, q)
    o8 = run_onnx(session((out / "model.onnx").read_bytes()), px, q)
    for k in sorted(set(o32) - {"category"}):  # the trained heads; the category is held below
        assert np.abs(o32[k] - o8[k]).max() < 0.25, k
    # The category head is the pretrained ImageNet head: INT8 must keep its ranking mostly intact.
    # Its groups sum a 1000-way softmax, and this toy calibrates on ~9 photos, so one photo between
    # two groups can swing by a third while its top group holds (0.26-0.37 on an Intel Xeon,
    # under 0.25 on an AMD EPYC): bound the mean, not the worst photo.
    assert (o32["category"].argmax(1) == o8["category"].argmax(1)).mean() >= 0.8
    assert np.abs(o32["category"] - o8["category"]).mean() < 0.05


@pytest.mark.slow
def test_build_is_deterministic(tmp_path):
    """Two builds from the same labelled photos give the same bytes, whatever the worker count:
    the shipped model can be audited by rebuilding it on a machine like the one that built it (the
    full default build was checked the same way; another CPU's kernels round differently,
    model_build/README.md "Measured build time")."""
    csv_path = _write_small_catalog(tmp_path)
    built = {}
    for workers in (1, 2):
        out = tmp_path / f"model_w{workers}"
        train_from_csv(
            csv_path, out, TrainConfig(epochs=1, batch_size=16), workers=workers, val_fraction=0.3, cache_dir=None,
            package_overrides={"latency_runs": 2, "quant_variants": ("uint8 activations, fp32: none",)},
            log=lambda _: None,
        )
        manifest = json.loads((out / "manifest.json").read_text())
        built[workers] = ((out / "model.onnx").read_bytes(), (out.parent / f"{out.name}.work" / "model.fp32.onnx").read_bytes(),
                          manifest["thresholds"], manifest["sha256"])
    (int8_a, fp32_a, thr_a, sha_a), (int8_b, fp32_b, thr_b, sha_b) = built[1], built[2]
    assert fp32_a == fp32_b
    assert int8_a == int8_b and sha_a == sha_b
    assert thr_a == thr_b
