"""Figures of training runs (matplotlib, Agg backend: no display needed).

- :func:`plot_confusion`: a per-class confusion matrix like the paper's Fig. 5/6 (rows =
  true class, columns = predicted class, cells = row-normalised rate with the count).
- :func:`plot_scores`: a video's spotting score curve with the smoothed micro curve, the
  threshold, ground-truth intervals (shaded) and spotted intervals (bars).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.intervals import Interval


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm: np.ndarray, row_names: Sequence[str], col_names: Sequence[str],
                   path: str | Path, title: str = "") -> Path:
    """Save a confusion matrix figure.

    Args:
        cm: ``(R, K)`` integer counts, ``cm[i, j]`` = samples of true class ``i`` predicted
            as ``j`` (rows may be a subset of the columns, e.g. without neutral).
        row_names, col_names: class names (R and K of them).
        path: the ``.png`` (or any matplotlib format) to write.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape != (len(row_names), len(col_names)):
        raise ValueError(f"cm must be ({len(row_names)}, {len(col_names)}), found {cm.shape}")
    plt = _plt()
    rows = cm.sum(1, keepdims=True)
    rate = np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.1 * len(col_names) + 2.2, 1.0 * len(row_names) + 1.8))
    im = ax.imshow(rate, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{rate[i, j]:.2f}\n({cm[i, j]})", ha="center", va="center",
                    fontsize=8, color="white" if rate[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(col_names)), labels=list(col_names), rotation=35, ha="right")
    ax.set_yticks(range(len(row_names)), labels=list(row_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=120)
    plt.close(fig)
    return p


def plot_scores(scores: np.ndarray, frame_skip: int, gt: Sequence[Interval],
                pred: Sequence[Interval], path: str | Path, title: str = "",
                spotting: Any = None) -> Path:
    """Save a score-curve figure of one video.

    Args:
        scores: ``(n,)`` raw spotting scores, sample ``i`` at frame ``i * frame_skip``.
        frame_skip: frames between samples.
        gt, pred: the video's ground-truth and spotted intervals (frames, 0-based).
        path: the file to write.
        spotting: a :class:`rt_sfamnet.spotting.SpottingConfig`: the micro curve is drawn
            smoothed as the spotter does (box of length ``2 k_micro``) with its threshold
            (None: the release values, ``k = 15 // frame_skip``, 0.576).
    """
    from rt_sfamnet.spotting import smooth

    scores = np.asarray(scores, np.float32).reshape(-1)
    plt = _plt()
    x = np.arange(len(scores)) * frame_skip
    fig, ax = plt.subplots(figsize=(11, 3.2))
    ax.plot(x, scores, lw=0.7, color="0.55", label="score")
    if len(scores):
        k, thr = max(1, 15 // frame_skip), 0.576
        if spotting is not None and hasattr(spotting, "params"):
            mp = spotting.params("micro")
            k, thr = int(mp.k), float(mp.threshold)
        sm = smooth(np.asarray(scores, np.float64), k)
        ax.plot(x, sm, lw=1.3, color="C0", label=f"micro-smoothed (k={k})")
        ax.axhline(float(thr), color="C0", ls=":", lw=0.8, label=f"threshold {float(thr):.3f}")
    for iv in gt:
        color = "C2" if iv.type == "micro" else "C1"
        ax.axvspan(iv.onset, iv.offset, color=color, alpha=0.25, lw=0)
        ax.text((iv.onset + iv.offset) / 2, 1.02, f"{iv.type[:2]} {iv.emotion}", ha="center",
                va="bottom", fontsize=7, color=color, transform=ax.get_xaxis_transform())
    for iv in pred:
        color = "C3" if iv.type == "micro" else "C4"
        y = -0.06 if iv.type == "micro" else -0.11
        ax.plot([iv.onset, iv.offset], [y, y], color=color, lw=4, solid_capstyle="butt")
        if iv.emotion:
            ax.text(iv.onset, y - 0.05, iv.emotion, fontsize=6, color=color)
    from matplotlib.patches import Patch

    handles, _labels = ax.get_legend_handles_labels()
    handles += [Patch(color="C2", alpha=0.3, label="GT micro"),
                Patch(color="C1", alpha=0.3, label="GT macro"),
                Patch(color="C3", label="spotted micro"), Patch(color="C4", label="spotted macro")]
    ax.legend(handles=handles, fontsize=7, ncol=4, loc="upper right")
    ax.set_ylim(-0.2, 1.1)
    ax.set_xlim(0, max(1, int(x[-1]) if len(x) else 1))
    ax.set_xlabel("frame")
    ax.set_ylabel("spotting score")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p
