"""Settings remembered between runs (QSettings) and the recent-files list.

By default the settings live where Qt keeps per-user settings for organisation
``rt-sfamnet`` / application ``rt-sfamnet`` (on Linux ``~/.config/rt-sfamnet/rt-sfamnet.conf``).
A path (tests, ``RT_SFAMNET_SETTINGS``) selects an INI file instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from rt_sfamnet.features import FLOW_MODES

MAX_RECENT = 8


def _to_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _to_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class AppSettings:
    """Typed access to the app's QSettings.

    Args:
        path: an INI file to use instead of the per-user location; ``None`` reads the
            ``RT_SFAMNET_SETTINGS`` environment variable, then falls back to the default.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        path = path or os.environ.get("RT_SFAMNET_SETTINGS") or None
        if path is not None:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.qsettings = QSettings("rt-sfamnet", "rt-sfamnet")
        self.path = self.qsettings.fileName()

    def sync(self) -> None:
        self.qsettings.sync()

    # scalar settings ----------------------------------------------------------------------
    def _get(self, key: str, default: Any = None) -> Any:
        return self.qsettings.value(key, default)

    def _set(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, value)

    @property
    def weights(self) -> str | None:
        """Weights file chosen by the user (None: the default weights)."""
        v = self._get("engine/weights")
        return str(v) if v else None

    @weights.setter
    def weights(self, value: str | None) -> None:
        self._set("engine/weights", value or "")

    @property
    def flow_mode(self) -> str | None:
        """Flow mode chosen by the user (None: what the weights were trained with)."""
        v = self._get("engine/flow_mode")
        return str(v) if v in FLOW_MODES else None

    @flow_mode.setter
    def flow_mode(self, value: str | None) -> None:
        self._set("engine/flow_mode", value or "")

    @property
    def speed(self) -> float:
        return _to_float(self._get("playback/speed"), 1.0)

    @speed.setter
    def speed(self, value: float) -> None:
        self._set("playback/speed", float(value))

    @property
    def show_depth(self) -> bool:
        return _to_bool(self._get("view/show_depth"), True)

    @show_depth.setter
    def show_depth(self, value: bool) -> None:
        self._set("view/show_depth", bool(value))

    @property
    def show_maps(self) -> bool:
        return _to_bool(self._get("view/show_maps"), True)

    @show_maps.setter
    def show_maps(self, value: bool) -> None:
        self._set("view/show_maps", bool(value))

    @property
    def show_landmarks(self) -> bool:
        return _to_bool(self._get("view/show_landmarks"), True)

    @show_landmarks.setter
    def show_landmarks(self, value: bool) -> None:
        self._set("view/show_landmarks", bool(value))

    @property
    def plot_window_s(self) -> float:
        return _to_float(self._get("view/plot_window_s"), 20.0)

    @plot_window_s.setter
    def plot_window_s(self, value: float) -> None:
        self._set("view/plot_window_s", float(value))

    def map_ranges(self, mode: str, default_uv: float, default_w: float) -> tuple[float, float]:
        """± colour ranges of the u/v and w maps for a flow mode."""
        return (
            _to_float(self._get(f"maps/{mode}/uv"), default_uv),
            _to_float(self._get(f"maps/{mode}/w"), default_w),
        )

    def set_map_ranges(self, mode: str, uv: float, w: float) -> None:
        self._set(f"maps/{mode}/uv", float(uv))
        self._set(f"maps/{mode}/w", float(w))

    @property
    def last_dir(self) -> str:
        return str(self._get("files/last_dir", "") or "")

    @last_dir.setter
    def last_dir(self, value: str) -> None:
        self._set("files/last_dir", str(value))

    @property
    def last_source(self) -> str | None:
        v = self._get("files/last_source")
        return str(v) if v else None

    @last_source.setter
    def last_source(self, value: str | None) -> None:
        self._set("files/last_source", value or "")

    # window geometry -------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        v = self._get("window/geometry")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        v = self._get("window/state")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)

    # recent files ----------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Recently opened recordings, newest first, at most :data:`MAX_RECENT`."""
        v = self._get("files/recent", [])
        if v is None:
            return []
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in v if str(x)][:MAX_RECENT]

    def add_recent_file(self, path: str | Path) -> list[str]:
        """Put ``path`` (made absolute) first in the recent list; returns the new list."""
        p = str(Path(path).expanduser().resolve())
        files = [f for f in self.recent_files() if f != p]
        files.insert(0, p)
        files = files[:MAX_RECENT]
        self._set("files/recent", files)
        return files

    def remove_recent_file(self, path: str | Path) -> list[str]:
        p = str(Path(path).expanduser().resolve())
        files = [f for f in self.recent_files() if f != p]
        self._set("files/recent", files)
        return files

    def clear_recent_files(self) -> None:
        self._set("files/recent", [])
