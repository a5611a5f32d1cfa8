"""Figures of an analysis (matplotlib, Agg backend) and attention overlays (NumPy + OpenCV).

- :func:`heat_lut`, :func:`overlay_heat`: a ``42 x 42`` attention map in [0, 1] blended over
  an RGB image with a colour scale (red = high, blue = low, as the paper's Fig. 7);
- :func:`png_bytes`: an RGB image as PNG bytes (for ``data:`` URIs);
- :func:`plot_curves`: the score curves with thresholds, events, ground truth and gaps, saved
  as SVG, PDF and PNG;
- :func:`event_figure`: the PNG of one event (``analyze --attention``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.report.results import finite

__all__ = ["MAX_ALPHA", "event_figure", "heat_lut", "heat_rgba", "overlay_heat", "plot_curves",
           "png_bytes"]

HEAT_CMAP = "turbo"
MAP_CMAP = "RdBu_r"
TYPE_COLOURS = {"micro": "#d62728", "macro": "#1f77b4"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def heat_lut(name: str = HEAT_CMAP) -> np.ndarray:
    """``256 x 3`` uint8 RGB colour table of a matplotlib colour map."""
    import matplotlib

    cmap = matplotlib.colormaps[name]
    return (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255.0 + 0.5).astype(np.uint8)


#: Opacity (0-255) of an overlay pixel at heat 1; heat 0 is transparent.
MAX_ALPHA = 170


def heat_rgba(heat: np.ndarray, lut: np.ndarray, max_alpha: int = MAX_ALPHA) -> np.ndarray:
    """A heat map as a translucent layer (the report's overlays and the app's).

    Args:
        heat: ``H x W`` float in [0, 1] (values outside are clipped).
        lut: ``256 x 3`` uint8 colour table (low = index 0).
        max_alpha: opacity (0-255) at heat 1; it grows linearly from 0 at heat 0, so cold
            regions leave the image underneath visible.

    Returns:
        ``H x W x 4`` uint8 RGBA.
    """
    h = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
    if h.ndim != 2:
        raise ValueError(f"heat must be H x W, found shape {h.shape}")
    out = np.empty(h.shape + (4,), np.uint8)
    out[..., :3] = np.asarray(lut, np.uint8)[np.rint(h * 255.0).astype(np.intp), :3]
    out[..., 3] = np.rint(h * max_alpha).astype(np.uint8)
    return out


def overlay_heat(rgb: np.ndarray, heat: np.ndarray, lut: np.ndarray,
                 max_alpha: int = MAX_ALPHA) -> np.ndarray:
    """Blend a heat map over an image (:func:`heat_rgba` composited).

    Args:
        rgb: ``H x W x 3`` uint8 (e.g. the 128 x 128 face crop).
        heat: ``h x w`` float in [0, 1] (e.g. a 42 x 42 attention map), resized bilinearly to
            ``H x W`` (same field of view: the maps are the crop, area-resized).
        lut: ``256 x 3`` uint8 colour table (:func:`heat_lut`).
        max_alpha: opacity at heat 1 (0-255).

    Returns:
        ``H x W x 3`` uint8.
    """
    import cv2

    img = np.asarray(rgb)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"rgb must be H x W x 3 uint8, found {img.shape} {img.dtype}")
    h = np.asarray(heat, dtype=np.float32)
    if h.ndim != 2:
        raise ValueError(f"heat must be 2-D, found shape {h.shape}")
    h = cv2.resize(np.clip(h, 0.0, 1.0), (img.shape[1], img.shape[0]),
                   interpolation=cv2.INTER_LINEAR)
    layer = heat_rgba(h, lut, max_alpha).astype(np.float32)
    a = layer[..., 3:] / 255.0
    return np.clip(img * (1.0 - a) + layer[..., :3] * a + 0.5, 0, 255).astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """``H x W x 3`` uint8 RGB (or ``H x W`` uint8 grey) as PNG file bytes."""
    import cv2

    img = np.asarray(rgb)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _save(fig: Any, stem: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    from rt_sfamnet.fileio import atomic_path

    out = {}
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=None if fmt == "png" else {})
        out[fmt] = path
    return out


def _intervals(ax: Any, rows: list[dict[str, Any]], fps: float, y: float, label: str) -> None:
    """Interval bars at height ``y`` (axes fraction), coloured by type."""
    for row in rows:
        colour = TYPE_COLOURS.get(str(row.get("type")), "grey")
        ax.axvspan(row["onset"] / fps, (row["offset"] + 1) / fps, ymin=y, ymax=y + 0.06,
                   color=colour, alpha=0.9, lw=0)
    if rows:
        ax.text(1.005, y + 0.03, label, transform=ax.transAxes, fontsize=7, va="center")


def plot_curves(frames: Any, events: list[dict[str, Any]], truth: list[dict[str, Any]],
                summary: dict[str, Any], stem: str | Path,
                formats: tuple[str, ...] = ("svg", "pdf", "png")) -> dict[str, Path]:
    """The score curves of an analysis.

    Args:
        frames: the ``frames.csv`` table (``frame, score, micro_smoothed, macro_smoothed,
            gap``).
        events, truth: spotted and ground-truth intervals (``onset, offset, type``; frames).
        summary: ``summary.json`` (``fps``, ``spotting.micro_threshold`` / ``macro_threshold``).
        stem: the path without suffix; one file per format.

    Returns:
        format -> path written.
    """
    plt = _plt()
    fps = float(summary.get("fps") or 30.0)
    t = _floats(frames, "frame") / fps
    fig, ax = plt.subplots(figsize=(9.0, 3.2))
    ax.plot(t, _floats(frames, "score"), lw=0.7, color="0.55", label="score")
    for name, colour in (("micro", TYPE_COLOURS["micro"]), ("macro", TYPE_COLOURS["macro"])):
        col = f"{name}_smoothed"
        if col in frames:
            ax.plot(t, _floats(frames, col), lw=1.3, color=colour, label=f"{name} (smoothed)")
        thr = (summary.get("spotting") or {}).get(f"{name}_threshold")
        if thr is not None:
            ax.axhline(float(thr), color=colour, lw=0.8, ls="--",
                       label=f"{name} threshold {float(thr):.2f}")
    if "gap" in frames:
        gap = frames["gap"].astype(object).fillna("").astype(str).to_numpy() != ""
        for k in np.flatnonzero(gap):
            ax.axvspan(t[k], t[k] + float(summary.get("frame_skip") or 1) / fps, color="0.85",
                       lw=0, zorder=0)
    _intervals(ax, events, fps, 0.90, "events")
    _intervals(ax, truth, fps, 0.82, "ground truth")
    ax.set_xlim(0, max(float(t[-1]) if len(t) else 1.0, 1e-3))
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("score")
    ax.legend(fontsize=7, ncols=3, loc="upper left", bbox_to_anchor=(0, -0.22), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    try:
        return _save(fig, Path(stem), formats)
    finally:
        plt.close(fig)


def _floats(frames: Any, column: str) -> np.ndarray:
    """A table column as float64 (missing values, pandas' NA included, as NaN)."""
    import pandas as pd

    return pd.to_numeric(frames[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _show(ax: Any, img: np.ndarray | None, title: str, **kw: Any) -> Any:
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)
    if img is None:
        ax.text(0.5, 0.5, "not available", ha="center", va="center", fontsize=7,
                transform=ax.transAxes)
        return None
    return ax.imshow(img, **kw)


def event_figure(evidence: Any, class_names: tuple[str, ...], path: str | Path,
                 fps: float = 30.0) -> Path:
    """One event's PNG: face crops at onset, apex and offset; the three input maps and the
    attention at the apex (CBAM spatial gates, Grad-CAM of the score and of the emotion,
    before and after the concatenation); the event's type, emotion, confidence and times.

    Args:
        evidence: an :class:`~rt_sfamnet.report.evidence.EventEvidence`.
        class_names: the network's classes (to name the emotion Grad-CAM explains).
        path: the ``.png`` to write.
    """
    from rt_sfamnet.attention import STREAMS

    plt = _plt()
    ev, att = evidence.event, evidence.attention
    lut = heat_lut()
    fig, axes = plt.subplots(5, 4, figsize=(8.0, 10.4))
    for col, name in enumerate(("onset", "apex", "offset")):
        _show(axes[0, col], evidence.crops.get(name), f"{name} (frame {int(ev[name])})")
    axes[0, 3].set_axis_off()
    axes[0, 3].text(0.0, 0.95, _event_text(evidence, fps), fontsize=7.5, va="top",
                    transform=axes[0, 3].transAxes, family="monospace")
    maps = evidence.maps
    lim = float(np.abs(maps).max()) or 1.0 if maps is not None else 1.0
    apex = evidence.crops.get("apex")
    rows = (("input", None), ("CBAM spatial", "spatial"),
            ("Grad-CAM score", "spot_streams"), ("Grad-CAM emotion", "emotion_streams"))
    for r, (label, key) in enumerate(rows, start=1):
        for c, stream in enumerate(STREAMS):
            if key is None:  # each stream on its own symmetric scale (px and mm differ)
                img = None if maps is None else maps[c]
                m = float(np.abs(img).max()) if img is not None else 0.0
                m = m if m > 0 else lim
                im = _show(axes[r, c], img, f"{stream} map", cmap=MAP_CMAP, vmin=-m, vmax=m)
                if im is not None:
                    fig.colorbar(im, ax=axes[r, c], fraction=0.046, pad=0.02)
                continue
            img = None if att is None else getattr(att, key)[c]
            im = _show(axes[r, c], img, f"{label} {stream}", cmap=HEAT_CMAP, vmin=0, vmax=1)
            if im is not None and c == 2:
                fig.colorbar(im, ax=axes[r, c], fraction=0.046, pad=0.02)
    emo = "" if att is None else class_names[att.emotion]
    for r, title, key in ((1, "score, concatenated", "spot_concat"),
                          (2, f"emotion ({emo}), concat.", "emotion_concat")):
        img = None
        if att is not None and apex is not None:
            img = overlay_heat(apex, getattr(att, key), lut)
        _show(axes[r, 3], img, f"Grad-CAM {title}")
    axes[3, 3].set_axis_off()
    axes[4, 3].set_axis_off()
    fig.tight_layout()
    try:
        return _save(fig, Path(path).with_suffix(""), ("png",))["png"]
    finally:
        plt.close(fig)


def _event_text(evidence: Any, fps: float) -> str:
    ev = evidence.event
    lines = [f"event {ev.get('number', '')}", f"type       {ev.get('type')}",
             f"emotion    {ev.get('emotion')}"]
    conf = finite(ev.get("confidence"))
    if conf is not None:
        lines.append(f"confidence {conf:.3f}")
    lines += [f"onset  {int(ev['onset'])} ({ev['onset'] / fps:.2f} s)",
              f"apex   {int(ev['apex'])} ({ev['apex'] / fps:.2f} s)",
              f"offset {int(ev['offset'])} ({ev['offset'] / fps:.2f} s)"]
    if evidence.score == evidence.score:
        lines.append(f"apex score {evidence.score:.3f}")
    if evidence.note:
        lines.append(evidence.note[:60])
    return "\n".join(lines)
