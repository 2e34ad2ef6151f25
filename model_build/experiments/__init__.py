"""Measured experiments that inform the build but are not part of it (see model_build/README.md)."""
from pathlib import Path

RESULTS = Path(".cache/experiments")  # gitignored, beside the build's own caches


def results_file(name: str) -> Path:
    """Where an experiment writes its results named ``name``; the folder is made if missing."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / name
