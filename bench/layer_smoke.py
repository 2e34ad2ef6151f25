"""Smoke test for a built runtime layer, run by bench/layer.py under Lambda's Python (3.12).

    python3.12 -I -S bench/layer_smoke.py LAYER_SITE CORE_DIR MODEL_DIR

Isolated (-I -S): only the standard library, the layer's site directory and the core layer are
importable, as on Lambda (where /opt/python holds both). Imports what the functions import
(powertools' Tracer excepted: it needs botocore, which the Lambda runtime provides), decodes
every allowed format, runs the model and the policy, applies a colour transform, and prints one
JSON line.
"""
import io
import json
import sys
import time


def main(site: str, core: str, model_dir: str) -> None:
    sys.path[:0] = [site, core]
    t0 = time.perf_counter()
    import numpy as np
    import onnxruntime as ort
    from aws_lambda_powertools import Logger, Metrics  # noqa: F401
    from PIL import Image

    from screener.classifier import Classifier
    from screener.config import load_config
    from screener.screening import screen_bytes

    imports_ms = (time.perf_counter() - t0) * 1000.0
    config = load_config({"MODEL_DIR": model_dir})
    clf = Classifier.from_dir(model_dir, 1)
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8), "RGB")
    verdicts = {}
    # MPO: a JPEG with a hidden second image (camera preview, HDR gain map), read by Pillow's MPO plugin.
    for fmt in ("JPEG", "PNG", "WEBP", "TIFF", "GIF", "MPO"):
        buf = io.BytesIO()
        img.save(buf, fmt, **({"save_all": True, "append_images": [img.resize((300, 225))]} if fmt == "MPO" else {}))
        r = screen_bytes(buf.getvalue(), clf, config)
        assert r.scores is not None and "multi-frame" not in r.reasons, (fmt, r.reasons, r.detail)  # scored
        verdicts[fmt] = r.verdict.value
    assert np.dot(np.ones(64), np.ones(64)) == 64.0  # numpy's BLAS loads
    from PIL import ImageCms  # Little CMS: screener.colour applies embedded profiles with it

    srgb = ImageCms.createProfile("sRGB")
    ImageCms.applyTransform(img.resize((64, 64)), ImageCms.buildTransform(srgb, srgb, "RGB", "RGB"))
    print(json.dumps({"python": sys.version.split()[0], "onnxruntime": ort.__version__, "numpy": np.__version__,
                      "imports_ms": imports_ms, "verdicts": verdicts, "model": clf.model_id}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
