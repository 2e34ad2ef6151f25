"""The report's figures (PNG, matplotlib's Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_png(path: Path, head: str, per_set: dict[str, dict]) -> Path:
    """One panel per evaluation set: rows = truth, columns = prediction, counts and row shares."""
    fig, axes = plt.subplots(1, len(per_set), figsize=(4.2 * len(per_set), 3.8))
    axes = np.atleast_1d(axes)
    for ax, (name, m) in zip(axes, per_set.items()):
        cm = np.asarray(m["confusion"], dtype=float)
        share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        labels = m["labels"]
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, f"{int(cm[i, j])}\n{share[i, j]:.0%}", ha="center", va="center",
                        color="white" if share[i, j] > 0.6 else "black", fontsize=8)
        ax.set_title(name)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    fig.suptitle(f"{head}: confusion (INT8)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def calibration_png(path: Path, head: str, per_set: dict[str, dict]) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    for name, cal in per_set.items():
        b = cal["bins"]
        ax.plot([r["confidence"] for r in b], [r["observed"] for r in b], marker="o", label=f"{name} (ECE {cal['ece']:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"{head}: calibration (INT8)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def approval_png(path: Path, curves: dict[str, list[dict]], chosen: dict[str, dict], target: float) -> Path:
    """Auto-approve against false-approve (frontier of the threshold grid), operating point marked."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, pts in curves.items():
        fa = [p["false_approve"] * 100 for p in pts]
        aa = [p["auto_approve"] * 100 for p in pts]
        line, = ax.step(fa, aa, where="post", label=name)
        if name in chosen:
            c = chosen[name]
            ax.plot(c["false_approve"] * 100, c["auto_approve"] * 100, marker="*", ms=14, color=line.get_color(),
                    markeredgecolor="black", label=f"operating point on {name}")
    ax.axvline(target * 100, color="red", ls=":", lw=1, label=f"target false-approve {target:.0%}")
    ax.axhline(70, color="green", ls=":", lw=1, label="target auto-approve 70%")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 100)
    ax.set_xlabel("false-approve rate (% of non-compliant photos approved)")
    ax.set_ylabel("auto-approve rate (% of compliant photos)")
    ax.set_title("Approval policy (INT8)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
