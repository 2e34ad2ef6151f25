"""Plain-text tables and the short label summary shared by the commands."""
from __future__ import annotations

from typing import Mapping, Sequence


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 48) -> str:
    cells = [[str(c) if len(str(c)) <= max_width else str(c)[: max_width - 1] + "…" for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def labels_text(labels: Mapping[str, Sequence]) -> str:
    """{'background': ['white', 0.97], ...} -> 'white 0.97 | front 0.91 | footwear 0.80'."""
    parts = [f"{lbl} {p:.2f}" for lbl, p in labels.values()]
    return " | ".join(parts) or "-"
