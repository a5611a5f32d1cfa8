"""Exception types for errors a user can cause.

Every error a user can provoke (no camera, unreadable file, bad dataset folder, wrong
checkpoint, bad config) is raised as a subclass of :class:`RtSfamnetError` with a message
naming what was expected and what was found. The CLI prints such messages on one line and
exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class RtSfamnetError(Exception):
    """Base class of every user-facing error of rt-sfamnet."""


class ConfigError(RtSfamnetError, ValueError):
    """A configuration file or mapping has an unknown key or a value of the wrong type."""


class ArgumentError(ConfigError, TypeError):
    """An API function got an argument of the wrong type or value (the message names the
    argument, what was expected and what was found); see :mod:`rt_sfamnet.api_args`."""


class SourceError(RtSfamnetError):
    """A frame source cannot be opened or stopped delivering frames."""


class CameraNotFoundError(SourceError):
    """No RealSense camera is connected (or it is in use by another program)."""


class CameraDisconnectedError(SourceError):
    """The camera stopped delivering frames mid-stream (unplugged, USB reset)."""


class RecordingError(SourceError):
    """A recording is missing, truncated, or not a RealSense recording."""


class DatasetError(RtSfamnetError):
    """A dataset folder or annotation file does not have the expected layout."""


class WeightsError(RtSfamnetError):
    """A weights file is not a checkpoint, or holds a network of another shape."""


class InputFileError(RtSfamnetError):
    """A CSV/TOML/JSON input file is malformed (the message names file, line and column)."""


class FaceNotFoundError(RtSfamnetError):
    """No face was found where one was required."""


class OutputError(RtSfamnetError):
    """A result file or folder cannot be written (a folder in the way, a read-only or virtual
    filesystem, a path under a regular file, an output folder in use by another run)."""
