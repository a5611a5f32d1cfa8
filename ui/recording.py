"""The window's Record toggle: record the source while the live view and analysis go on.

Every source the window opens is wrapped in a
:class:`~rt_sfamnet.sources.realsense.tee.RecordingTee` (``ui.session``), which passes the
frames on unchanged. Record (R, a checkable action) asks for a ``.db3`` file and starts the
tee's recording; pressing it again stops it. The open recording itself is never a target
(refused with a message, even when reached through a symlink or another path), and an
existing file is replaced only after the user says Yes to a question (:attr:`RecordToggle.
confirm_overwrite`, a seam tests replace with a fixed answer). Stopping waits for the writer to store the
frames still queued, so it runs on the session's worker thread and reports back through a
queued signal; the view, the scores and the spotting never pause. Opening another source
(or closing the window) finishes the recording too: the engine closes the tee.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.sources.realsense.tee import same_file


class RecordToggle(QObject):
    """Start/stop recording of the window's current source (see the module doc).

    Signals:
        finished(str, int, str): a recording ended: its file, frames written, and an error
            message ("" when it succeeded).
    """

    finished = Signal(str, int, str)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.tee: Any = None  # the tee recording now, or None
        self.ask_path = self._ask_path  # replaced in tests
        self.confirm_overwrite = self._confirm_overwrite  # (path) -> bool; replaced in tests
        self.finished.connect(self._on_finished)
        window.session.opened.connect(self._on_opened)

    @property
    def recording(self) -> bool:
        return self.tee is not None and self.tee.recording is not None

    def _ask_path(self) -> str | None:
        from ui import dialogs

        return dialogs.ask_record_path(self.window, self.window.settings.last_dir)

    def _confirm_overwrite(self, path: str) -> bool:
        from ui import dialogs

        return dialogs.ask_overwrite(self.window, path)

    def toggle(self, checked: bool | None = None) -> None:
        """Start recording (ask for a file) when off, stop when on."""
        if self.recording:
            self.stop()
        else:
            self.start()

    def start(self, path: str | None = None) -> None:
        w = self.window
        tee = getattr(getattr(w, "engine", None), "source", None)
        if tee is None or not hasattr(tee, "start_recording"):
            self._set_checked(False)
            w.show_error("Nothing to record: open a camera, recording or the simulator first.")
            return
        path = path or self.ask_path()
        if not path:
            self._set_checked(False)
            return
        if not path.lower().endswith(".db3"):
            path += ".db3"
        source = getattr(tee, "path", None)
        if source is not None and same_file(path, source):
            self._set_checked(False)
            w.show_error(f"Cannot record to {path}: it is the recording being played. "
                         "Choose another file.")
            return
        overwrite = Path(path).exists()
        if overwrite and not self.confirm_overwrite(path):
            self._set_checked(False)
            w.banner.show_info(f"Not recording: {Path(path).name} was kept.")
            return
        try:
            tee.start_recording(path, overwrite=overwrite)
        except RtSfamnetError as exc:
            self._set_checked(False)
            w.show_error(f"Cannot record: {exc}")
            return
        self.tee = tee
        self._set_checked(True)
        w.banner.show_info(f"Recording to {path} — press R (Record) again to stop.", sticky=True)

    def stop(self) -> None:
        tee, self.tee = self.tee, None
        self._set_checked(False)
        if tee is None:
            return
        self.window.banner.show_info("Finishing the recording…", sticky=True)

        def job() -> None:
            try:
                before = tee.recorded
                path = tee.stop_recording()
                self.finished.emit(str(path or ""), int(tee.recorded - before), "")
            except Exception as exc:  # noqa: BLE001 - shown in the window
                self.finished.emit("", 0, str(exc))

        self.window.session.submit(job)

    def _on_finished(self, path: str, frames: int, error: str) -> None:
        w = self.window
        if error:
            w.show_error(f"The recording failed: {error}")
        elif path:
            w.settings.add_recent_file(path)
            w._update_recent_menu()
            w.banner.show_info(f"Recorded {frames} frames to {path} (File ▸ Recent "
                               "recordings).")
        else:
            w.banner.show_info("Recording stopped before any frame: nothing was written.")

    def _on_opened(self, opened: Any) -> None:
        # a new source: the previous tee finished its recording when its engine stopped
        if self.tee is not None and self.tee is not getattr(opened.engine, "source", None):
            self.tee = None
            self._set_checked(False)

    def _set_checked(self, on: bool) -> None:
        act = self.window.act_record
        if act.isChecked() != on:
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)
