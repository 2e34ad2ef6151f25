"""Sample inputs for the demo: product photos in samples/ plus a few bad inputs made on the fly.

The photos in samples/ are renders from the synthetic catalog generator (model_build.synth,
held-out "shift" split, so the model never trained on them), one per look the screener must
tell apart, re-encoded as ~1200 px JPEG. Recreate them with ``python -m screener_cli.samples``.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SIDE = 1200
SYNTH = {"n": 48, "seed": 7, "split": "heldout_shift"}
# synth index -> file name: approved looks first, then one per reason a photo goes to review.
PICKS = {
    13: "velvet sofa - white studio front.jpg",
    34: "ceramic table - white studio three-quarter.jpg",
    37: "rattan cabinet - white studio.jpg",
    8: "velvet sofa - living room.jpg",
    32: "boucle cushion - busy backdrop.jpg",
    24: "velvet cushion - detail close-up.jpg",
    41: "velvet stool - blurred.jpg",
    30: "concrete table - cut off at the edge.jpg",
}


def _texture(rng: np.random.Generator, size: tuple[int, int], base: tuple[int, int, int], amp: int) -> Image.Image:
    w, h = size
    noise = rng.normal(0, amp, (h, w, 1))
    arr = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def photos_from_synth(out: Path = SAMPLES) -> list[Path]:
    """Render the synthetic catalog, keep PICKS, re-encode at SIDE px (long side)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "model_build.synth", "--out", tmp, "--n", str(SYNTH["n"]),
                        "--seed", str(SYNTH["seed"]), "--split", SYNTH["split"]], check=True)
        rows = list(csv.DictReader(open(Path(tmp) / "labels.csv", encoding="utf-8")))
        paths = []
        for idx, name in PICKS.items():
            im = Image.open(Path(tmp) / rows[idx]["path"]).convert("RGB")
            im.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
            p = out / name
            im.save(p, "JPEG", quality=85, optimize=True)
            paths.append(p)
    return paths


def bad_inputs(max_bytes: int) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, declared content type) for the inputs a screener must refuse safely."""
    def enc(im: Image.Image, fmt: str, **kw) -> bytes:
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        return buf.getvalue()

    cutout = Image.new("RGBA", (900, 900), (0, 0, 0, 0))
    rng = np.random.default_rng(3)
    body = _texture(rng, (900, 900), (150, 60, 160), 30).convert("RGBA")
    mask = Image.new("L", (900, 900), 0)
    ImageDraw.Draw(mask).ellipse((200, 150, 700, 750), fill=255)
    cutout.paste(body, (0, 0), mask)
    tiny = Image.new("RGB", (160, 120), "white")
    ImageDraw.Draw(tiny).ellipse((40, 30, 120, 90), fill=(200, 30, 40))
    over = b"\xff\xd8\xff\xe0" + bytes(max_bytes + 1024)  # JPEG magic, then zeros: over the byte cap
    return {
        "notes.txt renamed.jpg": (b"Order #1234: 3 pairs, size 42.\nShip by Friday.\n", "image/jpeg"),
        "thumbnail 160px.jpg": (enc(tiny, "JPEG", quality=90), "image/jpeg"),
        "purple vase cut-out.png": (enc(cutout, "PNG"), "image/png"),
        "raw scan (too big).jpg": (over, "image/jpeg"),
    }


if __name__ == "__main__":
    for p in photos_from_synth(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p, p.stat().st_size)
