"""Sample inputs for the demo: product photos from disk plus a few bad inputs made on the fly.

The committed photos in samples/ were drawn with Pillow by ``craft_photos`` (run
``python -m screener_cli.samples``): plain studio-style shots, one per look the screener must
tell apart. They are replaced by renders from model_build.synth once that generator lands.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SIDE = 1200


def _texture(rng: np.random.Generator, size: tuple[int, int], base: tuple[int, int, int], amp: int) -> Image.Image:
    w, h = size
    noise = rng.normal(0, amp, (h, w, 1))
    arr = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def _product(canvas: Image.Image, rng: np.random.Generator, box: tuple[int, int, int, int],
             color: tuple[int, int, int], shape: str) -> None:
    """A textured object with a soft shadow, pasted into ``box``."""
    x0, y0, x1, y1 = box
    shadow = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(shadow).ellipse((x0 + 20, y1 - 40, x1 + 20, y1 + 30), fill=110)
    canvas.paste((90, 90, 90), (0, 0), shadow.filter(ImageFilter.GaussianBlur(25)))
    mask = Image.new("L", canvas.size, 0)
    d = ImageDraw.Draw(mask)
    if shape == "shoe":
        d.rounded_rectangle((x0, y0 + (y1 - y0) // 2, x1, y1), radius=60, fill=255)
        d.ellipse((x0, y0, x0 + (x1 - x0) // 2, y1), fill=255)
    elif shape == "bag":
        d.rounded_rectangle((x0, y0 + (y1 - y0) // 3, x1, y1), radius=40, fill=255)
        d.arc((x0 + (x1 - x0) // 4, y0, x1 - (x1 - x0) // 4, y0 + (y1 - y0) // 1.5), 180, 360, fill=255, width=30)
    else:  # mug / lamp: a cylinder
        d.rounded_rectangle(box, radius=30, fill=255)
    tex = _texture(rng, canvas.size, color, 28)
    stripes = ImageDraw.Draw(tex)
    for y in range(y0, y1, 24):
        stripes.line((x0, y, x1, y + 10), fill=tuple(max(0, c - 60) for c in color), width=4)
    canvas.paste(tex, (0, 0), mask)


def craft_photos(out: Path = SAMPLES) -> list[Path]:
    rng = np.random.default_rng(7)
    out.mkdir(parents=True, exist_ok=True)
    looks = {
        "red sneaker - white studio.jpg": ((255, 255, 255), (200, 30, 40), "shoe", (250, 380, 950, 820), 0),
        "tan handbag - white studio.jpg": ((250, 250, 250), (170, 120, 70), "bag", (320, 260, 880, 900), 0),
        "blue mug - dark backdrop.jpg": ((28, 30, 36), (40, 90, 200), "mug", (420, 380, 780, 860), 0),
        "green lamp - living room.jpg": (None, (60, 150, 80), "lamp", (470, 200, 730, 900), 0),
        "red sneaker - out of focus.jpg": ((255, 255, 255), (200, 30, 40), "shoe", (250, 380, 950, 820), 9),
        "sneaker - cropped at edge.jpg": ((255, 255, 255), (30, 30, 30), "shoe", (600, 420, 1500, 860), 0),
    }
    paths = []
    for name, (bg, color, shape, box, blur) in looks.items():
        if bg is None:  # a 'room': wall, floor, a window
            im = _texture(rng, (SIDE, SIDE), (196, 170, 140), 10)
            d = ImageDraw.Draw(im)
            d.rectangle((0, 780, SIDE, SIDE), fill=(120, 84, 60))
            d.rectangle((80, 120, 380, 560), fill=(210, 225, 240), outline=(90, 70, 50), width=14)
        else:
            im = Image.new("RGB", (SIDE, SIDE), bg)
        _product(im, rng, box, color, shape)
        if blur:
            im = im.filter(ImageFilter.GaussianBlur(blur))
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
    for p in craft_photos(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p, p.stat().st_size)
