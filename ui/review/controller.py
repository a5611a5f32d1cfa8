"""Review mode: step through a recording's spotted intervals, loop them, correct them.

:class:`ReviewController` adds the Review menu (every action with a shortcut, listed in
``docs/gui.md``), a dock with the :class:`~ui.review.panel.ReviewPanel` and a draggable
interval on the score plot (:class:`~ui.review.overlay.ReviewOverlay`) to the main window.
The review itself is a :class:`rt_sfamnet.annotations.ReviewSession` (no Qt): every change
is undoable and saved atomically to ``<stem>.annotations.csv`` beside the recording, so
re-opening the recording restores the review.

Looping plays the window's engine from ``margin_s`` before the onset to ``margin_s`` after
the offset at ``loop_speed`` and seeks back, so the colour view, the input maps and the
score curve show the interval again and again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog

from rt_sfamnet.annotations import ReviewSession, annotations_path
from rt_sfamnet.errors import OutputError, RtSfamnetError
from rt_sfamnet.intervals import Interval, read_intervals
from ui.menus import make_action
from ui.review.overlay import ReviewOverlay
from ui.review.panel import REVIEW_EMOTIONS, ReviewPanel

RECORDING_SUFFIXES = (".db3", ".bag")
#: Seconds of score plot shown on both sides of the loop while reviewing.
PLOT_PAD_S = 1.0
#: attribute name -> (text, shortcut, tip, checkable); shortcuts are listed in docs/gui.md
REVIEW_ACTIONS: dict[str, tuple[str, str, str, bool]] = {
    "act_review": ("Review mode", "V", "Review the spotted expressions of this recording", True),
    "act_review_events": ("Add events from a file…", "Shift+V",
                          "Add the intervals of an events CSV (analyze's events.csv) to the "
                          "review", False),
    "act_next": ("Next interval", "N", "Select and loop the next interval", False),
    "act_prev": ("Previous interval", "P", "Select and loop the previous interval", False),
    "act_accept": ("Accept", "A", "Accept the interval", False),
    "act_reject": ("Reject", "X", "Reject the interval (kept in the file, not an interval)",
                   False),
    "act_onset": ("Select onset", "1", "Nudges move the onset", False),
    "act_apex": ("Select apex", "2", "Nudges move the apex", False),
    "act_offset": ("Select offset", "3", "Nudges move the offset", False),
    "act_earlier": ("One frame earlier", ",", "Move the selected bound one frame earlier",
                    False),
    "act_later": ("One frame later", ".", "Move the selected bound one frame later", False),
    "act_type": ("Toggle ME / MaE", "T", "Switch the type between ME and MaE", False),
    "act_emotion": ("Next emotion", "E", "Cycle the emotion forwards (7 classes, none)", False),
    "act_emotion_prev": ("Previous emotion", "Shift+E", "Cycle the emotion backwards", False),
    "act_au": ("Edit AU text", "U", "Type the action units (Enter keeps them)", False),
    "act_add": ("Add missed interval", "I", "Add an interval at the video position", False),
    "act_loop": ("Loop interval", "K", "Loop the interval with a margin of 0.5 s", True),
    "act_undo": ("Undo", "Ctrl+Z", "Undo the last review change", False),
    "act_redo": ("Redo", "Ctrl+Shift+Z", "Redo the last undone review change", False),
}


class ReviewController(QObject):
    """Review mode of ``window`` (a :class:`ui.window.MainWindow`).

    Attributes:
        session: the open review (None when review mode is off).
        current: index of the selected row (-1: none).
        boundary: the bound the nudges move (``onset``, ``apex`` or ``offset``).
        loop_speed: playback speed while looping (0.25 by default).
        margin_s: seconds played before the onset and after the offset.
    """

    def __init__(self, window: Any, loop_speed: float = 0.25, margin_s: float = 0.5) -> None:
        super().__init__(window)
        self.window = window
        self.session: ReviewSession | None = None
        self.current = -1
        self.boundary = "onset"
        self.loop_speed = float(loop_speed)
        self.margin_s = float(margin_s)
        self.panel = ReviewPanel()
        self.dock = QDockWidget("Review", window)
        self.dock.setObjectName("reviewDock")
        self.dock.setWidget(self.panel)
        self.dock.setMinimumWidth(400)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.overlay = ReviewOverlay(window.plot.plot, self._dragged)
        self.acts = {name: make_action(window, *spec) for name, spec in REVIEW_ACTIONS.items()}
        self.acts["act_redo"].setShortcuts(["Ctrl+Shift+Z", "Ctrl+Y"])
        self.acts["act_loop"].setChecked(True)
        menu = window.menuBar().addMenu("&Review")
        for i, name in enumerate(REVIEW_ACTIONS):
            if i in (2, 4, 6, 11, 15, 17):
                menu.addSeparator()
            menu.addAction(self.acts[name])
        self._connect()
        self._set_enabled(False)

    def _connect(self) -> None:
        a = self.acts
        slots = {
            "act_review": self.set_active, "act_review_events": self.import_dialog,
            "act_next": lambda: self.step(1), "act_prev": lambda: self.step(-1),
            "act_accept": lambda: self._do("accept"), "act_reject": lambda: self._do("reject"),
            "act_onset": lambda: self.select_boundary("onset"),
            "act_apex": lambda: self.select_boundary("apex"),
            "act_offset": lambda: self.select_boundary("offset"),
            "act_earlier": lambda: self.nudge(-1), "act_later": lambda: self.nudge(1),
            "act_type": self.toggle_type, "act_emotion": lambda: self.cycle_emotion(1),
            "act_emotion_prev": lambda: self.cycle_emotion(-1),
            "act_au": self.edit_au, "act_add": self.add_at_position,
            "act_loop": self.set_looping, "act_undo": self.undo, "act_redo": self.redo,
        }
        for name, slot in slots.items():
            a[name].triggered.connect(slot)
        p = self.panel
        p.rowSelected.connect(self.select)
        p.typeChosen.connect(lambda t: self._do("edit", type=t))
        p.emotionChosen.connect(lambda e: self._do("edit", emotion=e))
        p.auEdited.connect(self._au_edited)
        p.subjectEdited.connect(self._subject_edited)
        p.speedChosen.connect(self.set_loop_speed)
        self.window.session.opened.connect(self._on_opened)
        self.window.timer.timeout.connect(self._tick)
        self.window.playback.speedChanged.connect(self._on_playback_speed)

    # ------------------------------------------------------------------ mode
    @property
    def active(self) -> bool:
        return self.session is not None

    def _set_enabled(self, on: bool) -> None:
        for name, act in self.acts.items():
            if name != "act_review":
                act.setEnabled(on)
        self.acts["act_review"].setChecked(on)

    def set_active(self, on: bool = True, events: str | Path | None = None) -> bool:
        """Start review mode on the open recording (restoring its review, else with its
        spotted events: ``events`` file, a file found beside it, or the session's), or stop
        it. Returns whether review mode is on."""
        if not on:
            if self.session is not None:
                self.window.plot.set_now(self.window.plot.now_s)  # the plot's own window
                self._restore_speed()
            self.session = None
            self.current = -1
            self.window.attention.pin(None)  # the overlay follows the live samples again
            self.overlay.hide()
            self.dock.hide()
            self._set_enabled(False)
            return False
        try:
            rec = self._recording()
            if rec is None:
                raise RtSfamnetError("review mode needs a recording (.db3/.bag): open one first "
                                     "(O)")
            found = [] if annotations_path(rec).is_file() else self._events(rec, events)
            self.session = ReviewSession.open(rec, found)
        except RtSfamnetError as exc:
            self.window.show_error(f"Cannot start the review: {exc}")
            self._set_enabled(False)
            return False
        self.panel.subject_edit.setText(self.session.rows[0].subject if len(self.session)
                                        else rec.stem)
        self.dock.show()
        self._set_enabled(True)
        self.current = -1
        self._refresh()
        self.window.banner.show_info(
            f"Reviewing {rec.name}: {len(self.session)} interval(s); saved to "
            f"{self.session.path.name} after every change (N next, A accept, X reject).")
        if len(self.session):
            self.select(0)
        return True

    def _recording(self) -> Path | None:
        spec = self.window.spec
        if not spec:
            return None
        p = Path(spec)
        if p.suffix.lower() not in RECORDING_SUFFIXES:
            return None
        if not p.is_file():
            raise RtSfamnetError(f"the recording {p} does not exist")
        return p

    def _events(self, rec: Path, events: str | Path | None) -> list[Interval]:
        """Spotted intervals to review: ``events``, else ``<stem>_events.csv``,
        ``<stem>.events.csv`` or ``<stem>/events.csv`` beside the recording (``analyze``
        and the app's export), else what this session spotted."""
        cands = [Path(events)] if events else [
            rec.with_name(rec.stem + "_events.csv"), rec.with_name(rec.stem + ".events.csv"),
            rec.parent / rec.stem / "events.csv"]
        for c in cands:
            if events or c.is_file():
                return read_intervals(c)
        return [iv.to_interval(rec.stem, rec.stem) for iv in self.window.events.sorted()]

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Events to review", str(
            self._recording_dir()), "Interval files (*.csv);;All files (*)")
        if path:
            self.import_events(path)

    def _recording_dir(self) -> Path:
        return Path(self.window.spec).parent if self.window.spec else Path(".")

    def import_events(self, path: str | Path) -> int:
        """Add the intervals of an events file to the review (pending); returns how many."""
        if self.session is None:
            return 0
        try:
            n = self.session.import_events(read_intervals(path))
        except RtSfamnetError as exc:
            self.window.show_error(f"Cannot add the events: {exc}")
            return 0
        self._refresh()
        self.window.banner.show_info(f"{n} new interval(s) from {Path(path).name}.")
        return n

    def _on_opened(self, opened: Any) -> None:
        """Another source opened: a review of a different recording starts afresh."""
        if self.session is not None:
            rec = Path(str(opened.spec))
            if annotations_path(rec) != self.session.path:
                self.set_active(False)
                if rec.suffix.lower() in RECORDING_SUFFIXES:
                    self.set_active(True)

    # ------------------------------------------------------------------ selection and loop
    def select(self, index: int) -> None:
        """Select row ``index``, show it on the plot and loop it."""
        if self.session is None or not 0 <= index < len(self.session):
            return
        self.current = int(index)
        self._show_current()
        if self.acts["act_loop"].isChecked():
            self._loop_start()

    def step(self, direction: int) -> None:
        if self.session is None or not len(self.session):
            return
        self.select(min(max(self.current + direction, 0), len(self.session) - 1))

    def select_boundary(self, which: str) -> None:
        self.boundary = which
        self._show_current()

    def _row(self):
        if self.session is None or not 0 <= self.current < len(self.session):
            return None
        return self.session.rows[self.current]

    def loop_range(self) -> tuple[int, int] | None:
        """Frames the loop plays: the selected interval with the margin on both sides."""
        row = self._row()
        if row is None:
            return None
        m = int(round(self.margin_s * self.window.fps))
        return max(0, row.onset - m), row.offset + m

    def _loop_start(self) -> None:
        rng = self.loop_range()
        w = self.window
        if rng is None or w.engine is None or not w._seekable():
            return
        w.seek(rng[0])
        self._frame_plot(rng)  # seek moved the plot to its own window
        self._set_speed(self.loop_speed)
        if not w.playback.playing:
            w.set_playing(True)

    def _tick(self) -> None:
        rng = self.loop_range()
        w = self.window
        if rng is not None:
            self._frame_plot(rng)
        if (rng is None or not self.acts["act_loop"].isChecked() or w.opening
                or not w.playback.playing):
            return
        if not rng[0] <= w.position <= rng[1] or w.finished:
            # past the end, or elsewhere (a selection made while the source was reopening)
            self._loop_start()

    def _frame_plot(self, rng: tuple[int, int]) -> None:
        """Zoom the score plot onto the loop (plus :data:`PLOT_PAD_S` on both sides), so the
        interval is wide enough to drag; runs after the window's own redraw each tick."""
        fps = self.window.fps
        t0, t1 = rng[0] / fps - PLOT_PAD_S, (rng[1] + 1) / fps + PLOT_PAD_S
        plot = self.window.plot
        view = plot.plot.getViewBox().viewRange()[0]
        if abs(view[0] - t0) > 1e-6 or abs(view[1] - t1) > 1e-6:
            plot.plot.setXRange(t0, t1, padding=0)
        for region in (*plot.spotted, *plot.ground_truth):  # set_now hid them by its window
            region.set_visible(region.t1 >= t0 and region.t0 <= t1)

    def set_looping(self, on: bool) -> None:
        if on:
            self._loop_start()

    def set_loop_speed(self, speed: float) -> None:
        self.loop_speed = float(speed)
        self.panel.set_speed(speed)
        if self._row() is not None:
            self._set_speed(self.loop_speed)

    def _set_speed(self, speed: float) -> None:
        """Play the engine at ``speed`` and show it in the playback bar, without making it
        the remembered speed of the app (the bar's own choices do that)."""
        w = self.window
        bar = w.playback.speed
        bar.blockSignals(True)
        w.playback.set_speed(speed)
        bar.blockSignals(False)
        if w.engine is not None:
            try:
                w.engine.set_speed(float(speed))
            except Exception as exc:  # noqa: BLE001 - shown, never fatal
                w.show_error(f"Cannot change speed: {exc}")

    def _restore_speed(self) -> None:
        self._set_speed(float(self.window.settings.speed or 1.0))

    def _on_playback_speed(self, speed: float) -> None:
        """The user changed the playback speed ([ / ]) while reviewing: the loop keeps it."""
        if self.session is not None:
            self.loop_speed = float(speed)
            self.panel.set_speed(speed)

    # ------------------------------------------------------------------ changes
    def _do(self, what: str, *args: Any, **kwargs: Any) -> None:
        """Apply ``session.<what>(current, ...)``; errors go to the banner, never lost."""
        row = self._row()
        if row is None or self.session is None:
            return
        try:
            self.current = getattr(self.session, what)(self.current, *args, **kwargs)
        except OutputError as exc:
            self.window.show_error(f"The review could not be saved: {exc} (it is kept; the "
                                   "next change saves it again)")
        except ValueError as exc:
            self.window.banner.show_info(str(exc))
        self._refresh()

    def nudge(self, frames: int) -> None:
        self._do("nudge", self.boundary, int(frames))

    def toggle_type(self) -> None:
        row = self._row()
        if row is not None:
            self._do("edit", type="macro" if row.type == "micro" else "micro")

    def cycle_emotion(self, direction: int) -> None:
        row = self._row()
        if row is None:
            return
        names = list(REVIEW_EMOTIONS)
        i = names.index(row.emotion) if row.emotion in names else 0
        self._do("edit", emotion=names[(i + direction) % len(names)])

    def edit_au(self) -> None:
        """Put the keyboard in the AU field (Enter keeps the text and gives the keys back)."""
        if self._row() is not None:
            self.panel.au_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.panel.au_edit.selectAll()

    def _au_edited(self, text: str) -> None:
        row = self._row()
        if row is not None and text.strip() != row.au:
            self._do("edit", au=text.strip())
        self.window.setFocus()

    def _subject_edited(self, text: str) -> None:
        if self.session is not None:
            self._apply(lambda s: s.set_subject(text))

    def _dragged(self, onset: int, apex: int, offset: int) -> None:
        self._do("edit", onset=onset, apex=apex, offset=offset)

    def add_at_position(self) -> None:
        """Add a missed ME at the video position (0.15 s to the apex, 0.4 s long)."""
        if self.session is None:
            return
        fps, pos = self.window.fps, int(self.window.position)
        count = getattr(getattr(self.window.opened, "engine", None), "source", None)
        last = getattr(count, "frame_count", None)
        off = pos + int(round(0.4 * fps))
        off = min(off, last - 1) if last else off
        self._apply(lambda s: s.add(pos, min(pos + int(round(0.15 * fps)), off), off))

    def _apply(self, fn) -> None:
        assert self.session is not None
        try:
            i = fn(self.session)
        except OutputError as exc:
            self.window.show_error(f"The review could not be saved: {exc}")
            i = None
        except ValueError as exc:
            self.window.banner.show_info(str(exc))
            i = None
        if isinstance(i, int) and i >= 0:
            self.current = i
        self._refresh()
        if isinstance(i, int) and i >= 0:
            self.select(i)

    def undo(self) -> None:
        self._history("undo")

    def redo(self) -> None:
        self._history("redo")

    def _history(self, which: str) -> None:
        if self.session is None:
            return
        try:
            text = getattr(self.session, which)()
        except OutputError as exc:
            self.window.show_error(f"The review could not be saved: {exc}")
            text = which
        if text is None:
            self.window.banner.show_info(f"Nothing to {which}.")
        self.current = min(self.current, len(self.session) - 1)
        self._refresh()

    # ------------------------------------------------------------------ drawing
    def _refresh(self) -> None:
        s = self.session
        if s is None:
            return
        counts = ", ".join(f"{n} {k}" for k, n in s.counts().items() if n)
        self.panel.title.setText(f"<b>{s.path.name}</b> — {len(s)} interval(s): "
                                 f"{counts or 'none yet (I adds one)'}; reviewer {s.reviewer}")
        self.panel.set_rows(s.rows, self.window.fps, self.current)
        self._show_current()
        self.acts["act_undo"].setEnabled(s.can_undo)
        self.acts["act_redo"].setEnabled(s.can_redo)

    def _show_current(self) -> None:
        row = self._row()
        self.panel.show_current(row, self.current, self.boundary)
        if row is None:
            self.overlay.hide()
        else:
            self.overlay.show(row.onset, row.apex, row.offset, self.window.fps)
            # the attention overlay explains the sample at the apex while the loop plays
            self.window.attention.pin(row.apex if row.apex is not None else row.onset)
            rng = self.loop_range()
            if rng is not None:
                self._frame_plot(rng)


__all__ = ["REVIEW_ACTIONS", "ReviewController"]
