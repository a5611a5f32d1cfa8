"""The window's modal questions: files to open or write, weights, a file to record to.

Each function asks and returns the answer (None when the user cancels); none of them changes
the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QWidget,
)

RECORDING_FILTER = ("Recordings and videos (*.db3 *.bag *.mp4 *.m4v *.mov *.avi *.mkv *.webm);;"
                    "RealSense recordings (*.db3 *.bag);;"
                    "Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm);;All files (*)")
WEIGHTS_FILTER = "Weights (*.safetensors *.pkl);;All files (*)"
OFFICIAL_CLASSES = ("4 (negative, positive, surprise, others)",
                    "7 (disgust, surprise, others, fear, anger, sad, happy)")


def ask_record_path(parent: QWidget, start_dir: str) -> str | None:
    """A ``.db3`` file to record to (the Record toggle, ``ui.recording``), or None."""
    start = Path(start_dir or ".") / "session.db3"
    # the Record toggle asks itself before it overwrites (ask_overwrite): not twice
    path, _ = QFileDialog.getSaveFileName(parent, "Record to", str(start),
                                          "RealSense recording (*.db3)",
                                          options=QFileDialog.Option.DontConfirmOverwrite)
    if path and not path.lower().endswith(".db3"):
        path += ".db3"
    return path or None


def ask_overwrite(parent: QWidget, path: str) -> bool:
    """True when the user agrees to replace the existing file ``path`` (default: No)."""
    review = Path(path).with_name(Path(path).stem + ".annotations.csv")
    note = (f"\n\nIts review {review.name} would then describe another recording."
            if review.exists() else "")
    answer = QMessageBox.question(
        parent, "Replace the recording?", f"{path} exists. Record over it?{note}",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_recording(parent: QWidget, start_dir: str) -> str | None:
    """A recording (.db3/.bag) or a video file (.mp4, .mov, .avi, .mkv, .webm) to open."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open recording or video", start_dir,
                                          RECORDING_FILTER)
    return path or None


def ask_folder(parent: QWidget, start_dir: str) -> str | None:
    """A frame folder (CAS(ME)^3, CASME II, SAMM, SMIC or MMEW layout) to open."""
    return QFileDialog.getExistingDirectory(parent, "Open frame folder", start_dir) or None


def ask_weights(parent: QWidget, start_dir: str) -> tuple[str, int | None] | None:
    """(weights file, emotion classes) to use; the classes (4 or 7) are asked for an
    official ``.pkl`` checkpoint only (ours carry them; None)."""
    path, _ = QFileDialog.getOpenFileName(parent, "Choose weights", start_dir, WEIGHTS_FILTER)
    if not path:
        return None
    if not path.lower().endswith(".pkl"):
        return path, None
    guess = 1 if "7emo" in path.lower() else 0  # official checkpoints do not say their classes
    item, ok = QInputDialog.getItem(parent, "Official checkpoint",
                                    "Emotion classes of this checkpoint:",
                                    list(OFFICIAL_CLASSES), guess, False)
    if not ok:
        return None
    return path, int(item.split()[0])


def ask_export_path(parent: QWidget, start: str) -> tuple[str, str] | None:
    """(file name, ``"csv"`` or ``"json"``) to export to."""
    path, chosen = QFileDialog.getSaveFileName(
        parent, "Export events and per-frame scores", start, "CSV (*.csv);;JSON (*.json)",
    )
    if not path:
        return None
    fmt = "json" if path.lower().endswith(".json") or "json" in chosen.lower() else "csv"
    return path, fmt


__all__ = ["RECORDING_FILTER", "WEIGHTS_FILTER", "ask_export_path", "ask_folder",
           "ask_overwrite", "ask_record_path", "ask_recording", "ask_weights"]
