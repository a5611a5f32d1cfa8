"""What the window shows, as the user set it and the settings remember it.

:class:`ViewControl` is the behaviour of the View menu (depth view, input maps, landmarks,
score window, full screen) and keeps the controls that mirror a setting (flow mode, map
ranges, window geometry) in step with :class:`~ui.settings.AppSettings`. It never touches
the engine.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow

from ui.layout import Panels
from ui.menus import Actions
from ui.settings import AppSettings
from ui.widgets.maps import DEFAULT_UV_RANGE, DEFAULT_W_RANGE

#: Size of the window when the settings remember none.
DEFAULT_SIZE = (1440, 900)


class ViewControl:
    """Panel visibility, score window, full screen, and the settings they are kept in.

    Args:
        window: the main window (geometry, full screen).
        panels, acts: the window's handles (:func:`ui.layout.build_panels`,
            :func:`ui.menus.build_actions`).
        settings: where the choices are remembered.
    """

    def __init__(self, window: QMainWindow, panels: Panels, acts: Actions,
                 settings: AppSettings) -> None:
        self.window, self.panels, self.acts, self.settings = window, panels, acts, settings
        panels.maps.levelsChanged.connect(
            lambda uv, w: settings.set_map_ranges(panels.maps.mode, uv, w))

    def restore(self) -> None:
        """Window geometry, visible panels, playback speed and map ranges as remembered."""
        s, a = self.settings, self.acts
        geom = s.geometry()
        if geom is not None:
            self.window.restoreGeometry(geom)
        else:
            self.window.resize(*DEFAULT_SIZE)
        for act, on in ((a.act_depth, s.show_depth), (a.act_maps, s.show_maps),
                        (a.act_landmarks, s.show_landmarks)):
            act.setChecked(on)
        self.set_depth_visible(s.show_depth)
        self.set_maps_visible(s.show_maps)
        self.set_landmarks_visible(s.show_landmarks)
        playback = self.panels.playback
        playback.blockSignals(True)
        playback.set_speed(s.speed)
        playback.blockSignals(False)
        self.apply_map_ranges()

    def save(self) -> None:
        """Remember the geometry (unless full screen) and the score window."""
        if not self.window.isFullScreen():
            self.settings.save_window(self.window.saveGeometry(), QByteArray())
        self.settings.plot_window_s = self.panels.plot.window_s

    # panels -----------------------------------------------------------------------------
    def set_depth_visible(self, on: bool) -> None:
        self.panels.depth_panel.setVisible(bool(on))
        self.settings.show_depth = bool(on)
        self._update_side()

    def set_maps_visible(self, on: bool) -> None:
        self.panels.maps.setVisible(bool(on))
        self.settings.show_maps = bool(on)
        self._update_side()

    def _update_side(self) -> None:
        self.panels.side.setVisible(self.acts.act_depth.isChecked()
                                    or self.acts.act_maps.isChecked())

    def set_landmarks_visible(self, on: bool) -> None:
        video = self.panels.video
        video.show_landmarks = bool(on)
        self.settings.show_landmarks = bool(on)
        if not on:
            video.landmarks.setVisible(False)

    def set_plot_window(self, seconds: float) -> None:
        """Width of the score plot's time window (s), remembered."""
        self.panels.plot.set_window(float(seconds))
        self.settings.plot_window_s = float(seconds)
        for a in self.acts.window_actions.actions():
            a.setChecked(abs(a.data() - seconds) < 1e-9)

    def toggle_fullscreen(self) -> None:
        if self.window.isFullScreen():
            self.window.showNormal()
        else:
            self.window.showFullScreen()
        self.acts.act_fullscreen.setChecked(self.window.isFullScreen())

    def leave_fullscreen(self) -> None:
        if self.window.isFullScreen():
            self.toggle_fullscreen()

    # controls that mirror a setting ---------------------------------------------------------
    def show_flow_mode(self, mode: str | None) -> None:
        """Select ``mode`` (None: the weights' own) in the toolbar and the menu, silently."""
        combo = self.acts.flow_combo
        i = combo.findData(mode)
        combo.blockSignals(True)
        combo.setCurrentIndex(max(i, 0))
        combo.blockSignals(False)
        for a in self.acts.flow_actions.actions():
            a.setChecked(a.data() == mode)

    def apply_map_ranges(self) -> None:
        """The remembered colour ranges of the input maps for their current flow mode."""
        maps = self.panels.maps
        mode = maps.mode
        uv, w = self.settings.map_ranges(mode, DEFAULT_UV_RANGE[mode], DEFAULT_W_RANGE[mode])
        maps.blockSignals(True)
        maps.set_levels(uv, w)
        maps.blockSignals(False)


__all__ = ["DEFAULT_SIZE", "ViewControl"]
