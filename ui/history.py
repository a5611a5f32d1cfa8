"""What the app has seen so far: per-frame scores and spotted events (no Qt in this module).

The engine publishes one :class:`~rt_sfamnet.pipeline.FrameResult` per analysed frame (every
``frame_skip`` frames) and, later, the intervals that the streaming spotter has made final.
:class:`ScoreHistory` keeps the curves as NumPy arrays for plotting and the results for
export; :class:`EventLog` keeps the spotted intervals without duplicates (seeking back in a
recording makes the engine spot the same expression again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np


def _num(value: Any) -> float:
    """A float, or NaN for None."""
    return float("nan") if value is None else float(value)


class ScoreHistory:
    """Raw and smoothed score curves indexed by frame number.

    Arrays grow by doubling; the same frame published twice (e.g. first with the raw score,
    later with its final smoothed values) updates one row: values that are ``None`` in the
    newer result keep the older ones.

    Attributes:
        fps: frames per second of the source (converts frames to seconds).
    """

    _FIELDS = ("score", "micro", "macro")

    def __init__(self, fps: float = 30.0, capacity: int = 4096) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, found {fps!r}")
        self.fps = float(fps)
        self._frames = np.zeros(capacity, np.int64)
        self._values = np.full((3, capacity), np.nan, np.float64)
        self._n = 0
        self._row: dict[int, int] = {}
        self._results: dict[int, Any] = {}
        self._sorted = True
        self.version = 0  # increments on every change (lets views skip redraws)

    def __len__(self) -> int:
        return self._n

    def clear(self) -> None:
        """Forget every result."""
        self._n = 0
        self._row.clear()
        self._results.clear()
        self._sorted = True
        self.version += 1

    def _grow(self) -> None:
        cap = self._frames.shape[0] * 2
        frames = np.zeros(cap, np.int64)
        frames[: self._n] = self._frames[: self._n]
        values = np.full((3, cap), np.nan, np.float64)
        values[:, : self._n] = self._values[:, : self._n]
        self._frames, self._values = frames, values

    def _row_of(self, frame: int) -> int:
        row = self._row.get(frame)
        if row is None:
            if self._n == self._frames.shape[0]:
                self._grow()
            row = self._n
            self._n += 1
            if row > 0 and frame < self._frames[row - 1]:
                self._sorted = False
            self._frames[row] = frame
            self._values[:, row] = np.nan
            self._row[frame] = row
        return row

    def add(self, result: Any) -> None:
        """Add (or update) one FrameResult-like object (``frame``, ``score``,
        ``micro_smoothed``, ``macro_smoothed``); its ``maps`` are dropped to keep memory
        small. Values that are None keep what an earlier result of the frame said."""
        frame = int(result.frame)
        row = self._row_of(frame)
        for i, v in enumerate((result.score, result.micro_smoothed, result.macro_smoothed)):
            if v is not None:
                self._values[i, row] = float(v)
        if dataclasses.is_dataclass(result) and getattr(result, "maps", None) is not None:
            result = dataclasses.replace(result, maps=None)
        self._results[frame] = result
        self.version += 1

    def set_smoothed(self, name: str, frame: int, value: float) -> None:
        """Record the final smoothed value of curve ``"micro"`` or ``"macro"`` at ``frame``."""
        if name not in ("micro", "macro"):
            raise ValueError(f"curve must be 'micro' or 'macro', found {name!r}")
        row = self._row_of(int(frame))
        self._values[1 if name == "micro" else 2, row] = float(value)
        self.version += 1

    def smoothed(self, name: str) -> list[tuple[int, float]]:
        """Final smoothed values of ``"micro"`` or ``"macro"`` as (frame, value) pairs."""
        i = {"micro": 1, "macro": 2}[name]
        self._ensure_sorted()
        vals = self._values[i, : self._n]
        frames = self._frames[: self._n]
        ok = np.isfinite(vals)
        return [(int(f), float(v)) for f, v in zip(frames[ok], vals[ok], strict=True)]

    def extend(self, results: Iterable[Any]) -> None:
        for r in results:
            self.add(r)

    def _ensure_sorted(self) -> None:
        if self._sorted:
            return
        order = np.argsort(self._frames[: self._n], kind="stable")
        self._frames[: self._n] = self._frames[: self._n][order]
        self._values[:, : self._n] = self._values[:, : self._n][:, order]
        self._row = {int(f): i for i, f in enumerate(self._frames[: self._n])}
        self._sorted = True

    def drop_from(self, frame: int) -> None:
        """Forget results at frames >= ``frame`` (after a backwards seek they are recomputed)."""
        self._ensure_sorted()
        keep = int(np.searchsorted(self._frames[: self._n], frame, side="left"))
        for f in self._frames[keep: self._n]:
            self._row.pop(int(f), None)
            self._results.pop(int(f), None)
        self._n = keep
        self.version += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(t, score, micro, macro)``: float64 arrays of length n, sorted by time; ``t`` in
        seconds (frame / fps), missing values NaN."""
        self._ensure_sorted()
        n = self._n
        t = self._frames[:n] / self.fps
        return t, self._values[0, :n], self._values[1, :n], self._values[2, :n]

    def frames(self) -> np.ndarray:
        """Frame numbers (int64, sorted)."""
        self._ensure_sorted()
        return self._frames[: self._n].copy()

    def results(self) -> list[Any]:
        """Every stored FrameResult (without maps), sorted by frame."""
        return [self._results[f] for f in sorted(self._results)]

    @property
    def last_frame(self) -> int | None:
        if self._n == 0:
            return None
        self._ensure_sorted()
        return int(self._frames[self._n - 1])


def event_key(iv: Any) -> tuple[str, int, int]:
    """Identity of a spotted interval: (type, onset, offset)."""
    return (str(iv.type), int(iv.onset), int(iv.offset))


class EventLog:
    """Spotted intervals in the order they were found, without duplicates."""

    def __init__(self) -> None:
        self._events: list[Any] = []
        self._keys: set[tuple[str, int, int]] = set()

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self):
        return iter(self._events)

    def __getitem__(self, i: int) -> Any:
        return self._events[i]

    def add(self, interval: Any) -> bool:
        """Add a SpottedInterval-like object; False if the same (type, onset, offset) is known."""
        key = event_key(interval)
        if key in self._keys:
            return False
        self._keys.add(key)
        self._events.append(interval)
        return True

    def clear(self) -> None:
        self._events.clear()
        self._keys.clear()

    def sorted(self) -> list[Any]:
        """Events sorted by onset frame."""
        return sorted(self._events, key=lambda iv: (int(iv.onset), str(iv.type)))


def interval_iou(a: Any, b: Any) -> float:
    """Intersection over union of two intervals in frames (inclusive ends)."""
    lo = max(int(a.onset), int(b.onset))
    hi = min(int(a.offset), int(b.offset))
    inter = max(0, hi - lo + 1)
    union = (int(a.offset) - int(a.onset) + 1) + (int(b.offset) - int(b.onset) + 1) - inter
    return inter / union if union > 0 else 0.0


def match_ground_truth(event: Any, truth: Iterable[Any] | None, min_iou: float = 0.5) -> Any:
    """The true interval of the same type that ``event`` overlaps with IoU >= ``min_iou``
    (the MEGC hit criterion), the best one if several; None if there is none."""
    best, best_iou = None, min_iou
    for gt in truth or []:
        if str(gt.type) != str(event.type):
            continue
        iou = interval_iou(event, gt)
        if iou >= best_iou:
            best, best_iou = gt, iou
    return best


def truth_emotion(gt: Any) -> str:
    """Emotion of a true interval: its ``emotion``, else the simulator's ``prototype`` column
    (the emotion whose action units a macro-expression animates; the interval format leaves
    a MaE's emotion empty); ``""`` when neither is known."""
    emotion = str(getattr(gt, "emotion", "") or "")
    if emotion:
        return emotion
    extra = getattr(gt, "extra", None) or {}
    return str(extra.get("prototype", "") or "")


def overlapping_truth(event: Any, truth: Iterable[Any] | None) -> tuple[Any, float]:
    """The true interval of any type that ``event`` overlaps most (IoU), and that IoU;
    ``(None, 0.0)`` when it overlaps none."""
    best, best_iou = None, 0.0
    for gt in truth or []:
        iou = interval_iou(event, gt)
        if iou > best_iou:
            best, best_iou = gt, iou
    return best, best_iou
