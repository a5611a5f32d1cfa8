"""The live attention overlay: View ▸ Attention overlay (G) and View ▸ Attention map.

While the overlay is on, :class:`AttentionController` offers the newest scored sample of each
engine update to an :class:`rt_sfamnet.attention.AttentionWorker` (one background thread,
latest only: a sample still waiting is replaced by a newer one), and draws what comes back
on the face box of the colour view and on the three input maps, each with a 0-1 colour
scale. The GUI thread only picks the sample and draws; nothing is computed while the overlay
is off. In review mode the overlay is pinned to the selected interval's apex: only the
sample nearest the apex is explained, and it stays while the loop plays.

The maps (``docs/attention.md``):

- ``score``: Grad-CAM of the spotting score: after the concatenation on the face, per
  stream (before the concatenation) on the input maps;
- ``emotion``: the same for the predicted emotion;
- ``cbam``: CBAM's spatial attention of each stream on the input maps, their mean on the
  face.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup

#: kind -> (menu text, map on the face, maps on the three input maps)
KINDS: dict[str, tuple[str, str | None, str]] = {
    "score": ("Grad-CAM of the score", "spot_concat", "spot_streams"),
    "emotion": ("Grad-CAM of the emotion", "emotion_concat", "emotion_streams"),
    "cbam": ("CBAM spatial attention", None, "spatial"),
}


def face_and_stream_maps(att: Any, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(``42 x 42`` map for the face, ``3 x 42 x 42`` maps for the input maps) of ``kind``."""
    _text, face, streams = KINDS[kind]
    per_stream = np.asarray(getattr(att, streams))
    on_face = per_stream.mean(axis=0) if face is None else np.asarray(getattr(att, face))
    return on_face, per_stream


class AttentionController(QObject):
    """The overlay's toggle, map choice, worker and drawing (see the module doc).

    Attributes:
        enabled: the overlay is on. kind: ``"score"``, ``"emotion"`` or ``"cbam"``.
        pinned: the apex frame the overlay is pinned to (review mode), or None (live).
        drawn: attention maps drawn so far (tests, benchmarks).
    """

    ready = Signal(object, object)  # (FrameResult, AttentionMaps), from the worker thread
    reported = Signal(str)  # a banner line when Export's report is written (or failed)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.enabled = False
        self.kind = "score"
        self.pinned: int | None = None
        self._pin_distance: int | None = None
        self.worker: Any = None
        self.last: tuple[Any, Any] | None = None
        self.last_export: Any = None  # the future of Export's report job
        self.drawn = 0
        self.act = window.acts.act_attention
        self.act.toggled.connect(self.set_enabled)
        self.kind_actions = self._kind_menu()
        window.session.opened.connect(self._on_opened)
        self.ready.connect(self._draw)
        self.reported.connect(window.banner.show_info)

    def _kind_menu(self) -> QActionGroup:
        group = QActionGroup(self.window)
        group.setExclusive(True)
        menu = next((a.menu() for a in self.window.menuBar().actions()
                     if a.text().replace("&", "") == "View"), None)
        sub = menu.addMenu("Attention map") if menu is not None else None
        for kind, (text, _face, _streams) in KINDS.items():
            a = QAction(text, self.window, checkable=True)
            a.setData(kind)
            a.setChecked(kind == self.kind)
            group.addAction(a)
            if sub is not None:
                sub.addAction(a)
        group.triggered.connect(lambda a: self.set_kind(a.data()))
        return group

    # ------------------------------------------------------------------ control
    def set_enabled(self, on: bool) -> None:
        """Turn the overlay on (the next scored sample is explained) or off (hidden)."""
        self.enabled = bool(on)
        if self.act.isChecked() != self.enabled:
            self.act.setChecked(self.enabled)
        if not self.enabled:
            self._hide()

    def set_kind(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"attention map must be one of {sorted(KINDS)}, found {kind!r}")
        self.kind = kind
        for a in self.kind_actions.actions():
            a.setChecked(a.data() == kind)
        if self.last is not None:
            self._draw(*self.last)

    def pin(self, frame: int | None) -> None:
        """Explain only the sample nearest ``frame`` (an apex in review mode); None: live."""
        self.pinned = None if frame is None else int(frame)
        self._pin_distance = None

    def _on_opened(self, opened: Any) -> None:
        from rt_sfamnet.attention import AttentionProbe, AttentionWorker

        self.close()
        self.last = None
        self._hide()
        self._pin_distance = None
        predictor = getattr(opened.engine, "predictor", None)
        if predictor is not None:
            self.worker = AttentionWorker(AttentionProbe.from_predictor(predictor),
                                          self.ready.emit)

    def export_report(self, events_csv: str | Path) -> Any:
        """Export's report beside ``events_csv`` (:func:`export_report`); the banner says
        when it is written. Returns the job's future."""
        fut = export_report(self.window, events_csv)

        def done(f: Any) -> None:
            exc = f.exception()
            self.reported.emit(f"Report written: {f.result()}" if exc is None
                               else f"The report failed: {exc}")

        fut.add_done_callback(done)
        self.last_export = fut
        return fut

    def close(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.close()

    # ------------------------------------------------------------------ GUI thread
    def offer(self, results: Any) -> None:
        """Engine results just drawn: offer the one to explain (cheap; nothing when off)."""
        if not self.enabled or self.worker is None:
            return
        scored = [r for r in results if getattr(r, "maps", None) is not None]
        if not scored:
            return
        if self.pinned is None:
            pick = scored[-1]
        else:
            pick = min(scored, key=lambda r: abs(int(r.frame) - self.pinned))
            dist = abs(int(pick.frame) - self.pinned)
            if self._pin_distance is not None and dist >= self._pin_distance:
                return  # the apex is explained already (or a nearer sample was)
            self._pin_distance = dist
        self.worker.offer(pick, pick.maps)

    def _draw(self, result: Any, att: Any) -> None:
        self.last = (result, att)
        if not self.enabled:
            return
        on_face, per_stream = face_and_stream_maps(att, self.kind)
        self.window.panels.video.set_attention(on_face, getattr(result, "box", None))
        self.window.panels.maps.set_attention(per_stream)
        self.drawn += 1

    def _hide(self) -> None:
        self.window.panels.video.set_attention(None)
        self.window.panels.maps.set_attention(None)




def session_results(window: Any, events_csv: Path) -> Any:
    """The report's :class:`~rt_sfamnet.report.results.Results` of what the window has
    shown: its results table (:func:`ui.export.session_table`, what Export writes) and a
    summary of the engine's settings (the fields of ``summary.json`` a report reads)."""
    import dataclasses as dc

    import rt_sfamnet
    from rt_sfamnet.pipeline.writers import run_identity, source_label
    from rt_sfamnet.report.results import from_table
    from ui.export import session_table

    eng = window.opened.engine if window.opened is not None else window.engine
    s = eng.settings
    table = session_table(window.history, window.events.sorted(), window.class_names,
                          window.fps, window.spec or "session", eng.ground_truth,
                          source_label(eng.source))
    summary = {
        "status": "exported from the app", "source": str(getattr(eng.source, "name", "")),
        "fps": float(window.fps), "frames_in": int(eng.stats().frames_in),
        "frame_skip": s.frame_skip, "k_sw": s.k_sw, "backend": s.backend,
        "class_names": list(window.class_names),
        "features": {"mode": s.features.mode, "input_scale": s.features.input_scale,
                     "input_clip": s.input_clip},
        "spotting": dc.asdict(s.spotting), "rt_sfamnet_version": rt_sfamnet.__version__,
        **run_identity(eng),
    }
    return from_table(table, summary, Path(events_csv).parent)


def export_report(window: Any, events_csv: str | Path) -> Any:
    """Export's report: ``<stem>_report.html`` beside the exported events, built on the
    session's worker thread (replaying the apexes takes seconds); returns the job's future.
    The banner names the file when it is written."""
    from rt_sfamnet.report.html import build_report

    events_csv = Path(events_csv)
    stem = events_csv.name.removesuffix("_events.csv")
    out = events_csv.with_name(f"{stem}_report.html")
    results = session_results(window, events_csv)
    predictor = getattr(window.engine, "predictor", None)

    def job() -> Path:
        return build_report(results, out, predictor=predictor, event_pngs=False)

    return window.session.submit(job)


__all__ = ["KINDS", "AttentionController", "export_report", "face_and_stream_maps",
           "session_results"]
