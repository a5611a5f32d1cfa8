"""Frame sources behind one factory, :func:`open_source` (:func:`make_source` builds one).

========================  ============================================  ======================
spec                      Source                                        needs
========================  ============================================  ======================
``"camera"``,             live D415 (:mod:`.realsense`)                 pyrealsense2, a D415
``"camera:SERIAL"``
``"sim"``,                synthetic RGB-D face camera (:mod:`.simulated`)  mediapipe (for faces)
``"sim:key=value,..."``
``*.bag`` / ``*.db3``     RealSense recording playback                  rosbags (pyrealsense2
                          (:class:`.realsense.PlaybackSource`)          is used where present)
``*.mp4`` ``*.mov`` ...   video file, RGB only (:mod:`.video`)          PyAV
``"webcam[:N|:PATH]"``    webcam, RGB only (:mod:`.webcam`)             OpenCV, a camera
a directory               frame folder: CAS(ME)^3, CASME II, SAMM,
                          SMIC, MMEW layouts (:mod:`.folder`)
========================  ============================================  ======================

Timing: every source gives each frame its own ``timestamp``; ``Source.fps`` is the median
rate where frame intervals vary (videos, webcams). ``fps=`` (``--fps``) sets the rate of a
frame folder (and the simulator); a video, webcam or recording keeps its own timestamps.

Recordings play with pyrealsense2's playback where it imports and with ``rosbags`` (no SDK)
elsewhere; ``backend="sdk"|"rosbags"`` picks one. ``"auto"`` (the camera if one is
connected, else the demo recording) and ``"demo"`` (the bundled demo recording, generated on
first use) name a choice: :func:`resolve_spec` (:mod:`.spec`) turns them into one of the
specs above. Wrappers: :class:`.limited.LimitedSource` (the first seconds of a stream) and
:class:`.realsense.tee.RecordingTee` (record while analysing).

Every source implements :class:`.base.Source` (``live``, ``seekable``, ``realtime``,
``dropped``, ``registered`` with defaults). No source paces itself: the engine does.
Backends are imported only when asked for, so importing this package needs NumPy alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rt_sfamnet.errors import SourceError
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.spec import camera_available, demo_source, resolve_spec

__all__ = ["Source", "camera_available", "demo_source", "make_source", "open_source",
           "resolve_spec"]

RECORDING_SUFFIXES = (".bag", ".db3")
#: What a source spec can name, for messages.
EXPECTED = ("'camera', 'webcam[:N]', 'sim', a .bag/.db3 recording, a video file (.mp4, .mov, "
            ".avi, .mkv, .webm) or a frame folder")


def _build(what: str, factory: Any, *args: Any, **options: Any) -> Source:
    try:
        return factory(*args, **options)
    except TypeError as exc:  # an option the source does not take
        raise SourceError(f"{what}: cannot use option(s) {sorted(options)}: {exc}") from None


def _own_timing(kind: str, text: str, options: dict[str, Any]) -> None:
    """Refuse ``fps`` for a source that has its own timestamps."""
    if "fps" in options:
        raise SourceError(f"{text}: fps (--fps) sets the frame rate of a frame folder; a "
                          f"{kind} keeps its own timestamps")


def make_source(spec: str | Path, **options: Any) -> Source:
    """Build (but do not open) the Source for ``spec``; see the module table for specs.

    Raises SourceError for an unknown spec or an option the source does not take.
    """
    from rt_sfamnet.sources.video import VIDEO_SUFFIXES

    text = str(spec)
    if "fps" in options and options["fps"] is None:  # not given: the source's own rate
        del options["fps"]
    if text == "webcam" or text.startswith("webcam:"):
        from rt_sfamnet.sources.webcam import WebcamSource, parse_webcam_spec

        _own_timing("webcam", text, options)
        return _build(text, WebcamSource, parse_webcam_spec(text), **options)
    if text == "camera" or text.startswith("camera:"):  # camera:SERIAL picks one camera
        from rt_sfamnet.sources.realsense import CameraSource

        serial = text.partition(":")[2].strip() or None
        if serial is not None:
            options.setdefault("serial", serial)
        _own_timing("camera", text, options)
        return _build(text, CameraSource, **options)
    if text == "sim" or text.startswith("sim:"):
        from rt_sfamnet.sources.simulated import SimulatedSource

        return _build(text, SimulatedSource.from_spec, text, **options)
    path = Path(text)
    if path.suffix.lower() in RECORDING_SUFFIXES:
        # the SDK's playback where pyrealsense2 imports, else rosbags (no SDK needed)
        from rt_sfamnet.sources.realsense.playback import playback_source

        _own_timing("recording", text, options)
        return _build(f"recording {text}", playback_source, path, **options)
    if path.suffix.lower() in VIDEO_SUFFIXES and not path.is_dir():
        from rt_sfamnet.sources.video import VideoSource

        _own_timing("video", text, options)
        return _build(f"video {text}", VideoSource, path, **options)
    if path.is_dir():
        from rt_sfamnet.sources.folder import FolderSource

        return _build(f"folder {text}", FolderSource, path, **options)
    if not path.exists():
        raise SourceError(f"source {text!r} not found: expected {EXPECTED}")
    raise SourceError(
        f"cannot open {text!r}: expected {EXPECTED}, found a file with suffix {path.suffix!r}"
    )


def open_source(spec: str | Path, **options: Any) -> Source:
    """Build and open the Source for ``spec`` (use as a context manager to close it)."""
    return make_source(spec, **options).open()
