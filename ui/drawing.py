"""Drawing what the engine publishes onto the window's panels (GUI thread only).

:class:`UpdateDrawer` holds what the panels show of a session (the score history and the
spotted events) and draws each :class:`~rt_sfamnet.pipeline.EngineUpdate` part by part. The
costly views are throttled: the depth view at most :data:`DEPTH_HZ` times a second, the
status bar :data:`STATUS_HZ` times, the face box and landmarks only for a new observation.
It never controls the engine: :class:`ui.app.MainWindow` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ui import theme
from ui.history import EventLog, ScoreHistory
from ui.layout import Panels
from ui.widgets.scoreplot import interval_text

#: Most redraws per second of the depth view and of the status-bar readouts.
DEPTH_HZ = 15.0
STATUS_HZ = 5.0


def spotting_thresholds(cfg: Any) -> tuple[float | None, float | None]:
    """(ME threshold, MaE threshold) of a ``SpottingConfig`` (None where unknown)."""
    out: list[float | None] = []
    for kind in ("micro", "macro"):
        value = None
        params = getattr(cfg, "params", None)
        if callable(params):
            try:
                value = float(params(kind).threshold)
            except Exception:
                value = None
        if value is None:
            raw = getattr(cfg, f"{kind}_threshold", None)
            value = None if raw is None else float(raw)
        out.append(value)
    return out[0], out[1]


class UpdateDrawer:
    """Draws engine updates onto ``panels`` and keeps the drawn history and events.

    Attributes:
        history: scores and smoothed curves by frame (:class:`~ui.history.ScoreHistory`).
        events: the spotted intervals drawn so far, without duplicates.
        fps: frames per second of the source (x axis = frame / fps).
    """

    def __init__(self, panels: Panels, fps: float = 30.0) -> None:
        self.panels = panels
        self.fps = float(fps)
        self.history = ScoreHistory(self.fps)
        self.events = EventLog()
        self.last_frame_index = -1
        self.last_obs_frame = -2
        self._last_depth_draw = -1e9
        self._last_status_draw = -1e9

    def start(self, eng: Any, fps: float, keep_from: int | None) -> None:
        """Set the panels up for a newly opened engine ``eng``: classes, input-map mode,
        thresholds, ground truth, playback range. ``keep_from``: a replay of the same
        source keeps the events and the curves before this frame; None: start afresh."""
        p = self.panels
        self.fps = float(fps)
        if keep_from is not None:
            self.history.drop_from(int(keep_from))
        else:
            self.history = ScoreHistory(self.fps)
            self.events.clear()
            p.event_list.clear_events()
            p.plot.clear()
        self.last_frame_index = -1
        self.last_obs_frame = -2
        p.probs.set_classes(eng.class_names)
        p.plot.set_classes(eng.class_names)
        p.probs.set_probs(None)
        p.maps.clear()
        p.maps.set_mode(eng.feature_config.mode)
        p.plot.set_thresholds(*spotting_thresholds(eng.spotting_config))
        truth = eng.ground_truth
        p.plot.set_ground_truth(truth, self.fps)
        p.event_list.set_ground_truth(truth)
        src = eng.source
        p.playback.set_seekable(bool(src.seekable), src.frame_count, self.fps)
        p.playback.set_playing(not eng.paused)

    def results(self, results: Sequence[Any]) -> None:
        """Add scored frames to the history; show the latest probabilities and maps."""
        self.history.extend(results)
        for r in reversed(results):
            if r.probs is not None:
                self.panels.probs.set_probs(r.probs)
                break
        if self.panels.maps.isVisible():
            for r in reversed(results):
                if getattr(r, "maps", None) is not None:
                    self.panels.maps.set_maps(r.maps)
                    break

    def curves(self, curves: dict[str, Iterable[tuple[int, float]]]) -> None:
        """Final ME/MaE-smoothed values, ``{"micro": [(frame, value), ...], "macro": ...}``."""
        for name in ("micro", "macro"):
            for frame, value in curves.get(name, ()):
                self.history.set_smoothed(name, int(frame), float(value))

    def intervals(self, intervals: Iterable[Any]) -> None:
        """Draw newly spotted intervals: plot region, event row, badge on the video."""
        p = self.panels
        for iv in intervals:
            if self.events.add(iv):
                p.plot.add_spotted(iv, self.fps)
                p.event_list.add_event(iv, self.fps)
                p.video.flash_event(interval_text(iv), theme.emotion_hex(iv.emotion))

    def frame(self, update: Any, now: float) -> int | None:
        """Draw the update's video frame if new, its face and (throttled) its depth; returns
        the frame's index, or None when there was nothing new."""
        frame = update.frame
        if frame is None or frame.index == self.last_frame_index:
            return None
        self.last_frame_index = frame.index
        # the face tracker runs on every frame_skip-th frame: redraw the box and the 468
        # landmarks only when the observation is new
        obs_frame = getattr(update, "observation_frame", -2)
        new_obs = obs_frame != self.last_obs_frame or obs_frame == -2
        self.last_obs_frame = obs_frame
        self.panels.video.set_frame(frame.color, update.observation, update_face=new_obs)
        if self.panels.depth.isVisible() and now - self._last_depth_draw >= 1.0 / DEPTH_HZ:
            self._last_depth_draw = now
            self.panels.depth.set_depth(frame.depth, update.observation)
        return int(frame.index)

    def stats(self, stats: Any, now: float) -> None:
        """The status-bar readouts (throttled)."""
        if stats is not None and now - self._last_status_draw >= 1.0 / STATUS_HZ:
            self._last_status_draw = now
            self.panels.status.set_stats(stats)

    def position(self, frame: int) -> None:
        """Move the playback bar, the curves and the plot's window to ``frame``."""
        p = self.panels
        p.playback.set_position(frame)
        p.plot.set_history(self.history)
        p.plot.set_now(frame / self.fps)


__all__ = ["DEPTH_HZ", "STATUS_HZ", "UpdateDrawer", "spotting_thresholds"]
