"""A digest of Python source that follows its code, not its comments, docstrings or layout.

The features cache keys its entries on the code that produced them (the generator, the serving
preprocessing, the backbone): when that code changes, an entry is stale. Hashing the files'
bytes also made a comment or docstring edit re-render the whole catalog, ~23 minutes on 2 cores.
The syntax tree, with docstrings removed and without line numbers, changes only when the code
does. Its dump format can differ between Python versions, so a cache is also per Python version.
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Iterable

_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, _DOCUMENTED) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def code_digest(files: Iterable[tuple[str, Path]]) -> str:
    """16 hex digits over (name, file) pairs: each name, then its file's code as parsed."""
    h = hashlib.sha256()
    for name, path in files:
        tree = _without_docstrings(ast.parse(path.read_bytes(), filename=str(path)))
        h.update(name.encode() + b"\0")
        h.update(ast.dump(tree).encode() + b"\0")  # no line/column attributes by default
    return h.hexdigest()[:16]
