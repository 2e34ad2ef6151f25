"""Measured experiments that inform the build but are not part of it (see model_build/README.md)."""
