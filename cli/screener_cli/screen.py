"""`screener screen PATH...`: screen local files or folders with the same core as the Lambda.

Uses the model in layers/model (or MODEL_DIR / --model-dir) and the same configuration
variables as the function (APPROVAL_POLICY, MAX_IMAGE_BYTES, ...). The declared content type
is guessed from the file extension, as upload tools do.
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from pathlib import Path
from typing import Iterator

from screener.classifier import Classifier
from screener.config import ConfigError, load_config
from screener.manifest import ManifestError
from screener.screening import ScreenResult, screen_bytes

from .invoke import LOCAL_MODEL_DIR
from .table import labels_text, render


def iter_files(paths: list[str]) -> Iterator[Path]:
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        else:
            yield p


def as_json(path: Path, r: ScreenResult) -> dict:
    d = {"path": str(path), "verdict": r.verdict.value, "reasons": [x.value for x in r.reasons],
         "labels": {h: {"label": lbl, "p": round(p, 4)} for h, (lbl, p) in r.top_labels().items()},
         "category": r.top_labels().get("category", (None,))[0], "model": r.model_id,
         "timings_ms": dict(r.timings_ms)}
    if r.scores is not None:
        s = r.scores
        d["scores"] = {"background": {k: round(v, 4) for k, v in s.background.items()},
                       "angle": {k: round(v, 4) for k, v in s.angle.items()},
                       "crop": round(s.crop_ok, 4), "quality": round(s.quality, 4),
                       "category": {k: round(v, 4) for k, v in s.category.items()}}
    if r.detail:
        d["detail"] = r.detail
    return d


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screen", help="screen local image files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--model-dir", help=f"model directory (default: $MODEL_DIR or {LOCAL_MODEL_DIR})")
    p.add_argument("--policy", help="approval policy JSON (default: $APPROVAL_POLICY)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    env["MODEL_DIR"] = args.model_dir or env.get("MODEL_DIR") or str(LOCAL_MODEL_DIR)
    if args.policy:
        env["APPROVAL_POLICY"] = args.policy
    try:
        config = load_config(env)
        classifier = Classifier.from_dir(config.model_dir, config.ort_threads)
    except (ConfigError, ManifestError) as e:
        print(f"screener: {e}", file=sys.stderr)
        return 2
    rows, missing = [], 0
    for path in iter_files(args.paths):
        try:
            data = path.read_bytes()
        except OSError as e:
            print(f"screener: {path}: {e.strerror}", file=sys.stderr)
            missing += 1
            continue
        r = screen_bytes(data, classifier, config, mimetypes.guess_type(path.name)[0])
        if args.json:
            print(json.dumps(as_json(path, r)), flush=True)
        else:
            shown = str(path) if len(str(path)) <= 60 else "…" + str(path)[-59:]  # keep the file name
            rows.append([shown, r.verdict.value, " ".join(x.value for x in r.reasons) or "-",
                         labels_text(r.top_labels()), f"{r.timings_ms.get('total', 0):.0f} ms"])
    if not args.json:
        print(render(["photo", "verdict", "reasons", "top labels", "time"], rows, max_width=60))
        print(f"\nmodel {classifier.model_id}", file=sys.stderr)
    return 1 if missing else 0
