"""Camera controls of the D415: exposure, laser power, visual preset (``--camera KEY=VALUE``).

:data:`CAMERA_OPTIONS` names the controls a user can set, with the sensor that has them
(the depth/stereo module or the RGB camera) and the SDK option. :func:`parse_camera_options`
checks the keys and values of ``--camera KEY=VALUE`` before anything opens;
:func:`apply_camera_options` sets them on a device (any object with ``query_sensors()``:
the camera, or an ``rs.software_device`` in the tests), checking each value against the
option's range on that device, and :func:`read_camera_options` reads them back (the GUI
shows them).

Keys (units as the SDK has them):

==================  ============  ====================================================
``exposure``        stereo        depth exposure, microseconds (turns auto exposure off)
``auto_exposure``   stereo        1/0
``laser_power``     stereo        projector power, milliwatts (0-360 on a D415)
``emitter``         stereo        projector on (1) or off (0)
``visual_preset``   stereo        ``default``, ``hand``, ``high_accuracy``,
                                  ``high_density``, ``medium_density`` or a number
``color_exposure``  rgb           colour exposure (turns colour auto exposure off)
``color_auto_exposure`` rgb       1/0
``color_gain``      rgb           colour gain
==================  ============  ====================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rt_sfamnet.errors import SourceError

#: key -> (sensor: "stereo" or "rgb", pyrealsense2 option name)
CAMERA_OPTIONS: dict[str, tuple[str, str]] = {
    "exposure": ("stereo", "exposure"),
    "auto_exposure": ("stereo", "enable_auto_exposure"),
    "laser_power": ("stereo", "laser_power"),
    "emitter": ("stereo", "emitter_enabled"),
    "visual_preset": ("stereo", "visual_preset"),
    "color_exposure": ("rgb", "exposure"),
    "color_auto_exposure": ("rgb", "enable_auto_exposure"),
    "color_gain": ("rgb", "gain"),
}
#: setting one of these switches the auto mode off first (else the camera ignores it)
_AUTO_OFF = {"exposure": "auto_exposure", "color_exposure": "color_auto_exposure"}
VISUAL_PRESETS = ("custom", "default", "hand", "high_accuracy", "high_density",
                  "medium_density")


def parse_camera_options(pairs: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``["exposure=8000", "visual_preset=high_accuracy"]`` -> checked ``{key: value}``.

    Values are numbers, except ``visual_preset`` (a preset name or its number). Raises
    SourceError naming the allowed keys for an unknown key or a value that is not a number.
    """
    if pairs is None:
        return {}
    items: list[tuple[str, Any]]
    if isinstance(pairs, Mapping):
        items = list(pairs.items())
    else:
        items = []
        for p in pairs:
            key, sep, value = str(p).partition("=")
            if not sep:
                raise SourceError(f"--camera {p!r}: expected KEY=VALUE, e.g. exposure=8000")
            items.append((key.strip(), value.strip()))
    out: dict[str, Any] = {}
    for key, value in items:
        if key not in CAMERA_OPTIONS:
            raise SourceError(f"--camera {key}: unknown camera setting, expected one of "
                              f"{', '.join(CAMERA_OPTIONS)}")
        if key == "visual_preset" and not _is_number(value):
            name = str(value).strip().lower()
            if name not in VISUAL_PRESETS:
                raise SourceError(f"--camera visual_preset={value}: expected one of "
                                  f"{', '.join(VISUAL_PRESETS[1:])} or a number")
            out[key] = name
        elif _is_number(value):
            out[key] = float(value)
        else:
            raise SourceError(f"--camera {key}={value}: expected a number")
    return out


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _sensor(device: Any, which: str) -> Any:
    """The device's stereo (depth) or RGB sensor, by the SDK's sensor names."""
    import pyrealsense2 as rs

    for s in device.query_sensors():
        name = s.get_info(rs.camera_info.name).lower()
        if (which == "stereo" and ("stereo" in name or "depth" in name)) or (
                which == "rgb" and ("rgb" in name or "color" in name)):
            return s
    raise SourceError(f"the camera has no {which} sensor for this setting")


def _value(rs: Any, key: str, value: Any) -> float:
    if key == "visual_preset" and isinstance(value, str):
        return float(int(getattr(rs.rs400_visual_preset, value)))
    return float(value)


def apply_camera_options(device: Any, options: Mapping[str, Any]) -> dict[str, float]:
    """Set ``options`` (from :func:`parse_camera_options`) on ``device``; returns the values
    read back. A value outside the option's range (or off its step) on this device is a
    SourceError naming the range."""
    import pyrealsense2 as rs

    ordered = sorted(options, key=lambda k: k not in _AUTO_OFF.values())  # auto modes first
    for key in ordered:
        if key in _AUTO_OFF and _AUTO_OFF[key] not in options:
            _set(rs, device, _AUTO_OFF[key], 0.0, quiet=True)
        _set(rs, device, key, _value(rs, key, options[key]))
    return read_camera_options(device, options)


def _set(rs: Any, device: Any, key: str, value: float, quiet: bool = False) -> None:
    which, opt_name = CAMERA_OPTIONS[key]
    sensor = _sensor(device, which)
    opt = getattr(rs.option, opt_name)
    if not sensor.supports(opt):
        if quiet:
            return
        raise SourceError(f"--camera {key}: this camera's {which} sensor has no {opt_name}")
    r = sensor.get_option_range(opt)
    ok = r.min <= value <= r.max
    if ok and r.step > 0:
        k = (value - r.min) / r.step
        ok = abs(k - round(k)) < 1e-6
    if not ok:
        if quiet:
            return
        raise SourceError(f"--camera {key}={value:g}: expected {r.min:g} to {r.max:g} in steps "
                          f"of {r.step:g} on this camera")
    try:
        sensor.set_option(opt, value)
    except RuntimeError as exc:
        if not quiet:
            raise SourceError(f"--camera {key}={value:g}: the camera refused it ({exc})") from None


def read_camera_options(device: Any, keys: Iterable[str] = tuple(CAMERA_OPTIONS)
                        ) -> dict[str, float]:
    """The current values of ``keys`` the device supports (others are left out)."""
    import pyrealsense2 as rs

    out: dict[str, float] = {}
    for key in keys:
        which, opt_name = CAMERA_OPTIONS[key]
        try:
            sensor = _sensor(device, which)
        except SourceError:
            continue
        opt = getattr(rs.option, opt_name)
        if sensor.supports(opt):
            out[key] = float(sensor.get_option(opt))
    return out
