"""Intel RealSense sources: the live D415 camera, recording playback and recording writers.

pyrealsense2 is imported lazily, inside functions, so importing this package needs NumPy
alone; recordings also play without it (the rosbags backend). One concern per module:

========================  =================================================================
:mod:`.sdk`               pyrealsense2 access, SDK frame conversion (alignment, copies,
                          RGB), intrinsics conversion, :class:`.sdk.SdkReader` (the SDK
                          backend of the recording reader)
:mod:`.index`             recording files: :class:`.index.RecordingIndex` (the one frame
                          index: numbering, colour/depth pairs, seek positions), file
                          checks, the ground-truth sidecar (:func:`ground_truth_path`)
:mod:`.reader`            the backend-neutral :class:`.reader.RecordingReader` (index +
                          decode), the interface the backends implement
:mod:`.rosbag`            :class:`.rosbag.RosbagReader`: the SDK-free backend (``rosbags``,
                          OpenCV), frames decoded lazily from the file's bytes
:mod:`.playback`          :class:`PlaybackSource` (``.db3`` and ROS1 ``.bag``, seek) over
                          either reader; :func:`.playback.make_reader` picks the backend
:mod:`.align`             :func:`.align.align_depth_to_color`: ``rs.align`` in NumPy
:mod:`.camera`            :class:`CameraSource` (live D415), :func:`record_camera`,
                          :func:`connected_cameras`, :data:`CAMERA_MODES`
:mod:`.options`           camera controls (exposure, laser power, visual preset:
                          ``--camera KEY=VALUE``)
:mod:`.recorder`          :func:`write_recording` (frames -> ``.db3`` through
                          ``rs.software_device`` and ``rs.recorder``)
:mod:`.tee`               :class:`.tee.RecordingTee`: record any source while analysing
========================  =================================================================

Shared parts live outside the package: the drop-oldest / backpressure queue is
:class:`rt_sfamnet.queues.BoundedQueue`; real-time pacing is the engine's
(:class:`rt_sfamnet.pacing.Pacer`), never a source's.
"""

from rt_sfamnet.sources.realsense.camera import (
    CAMERA_MODES,
    CameraSource,
    connected_cameras,
    record_camera,
)
from rt_sfamnet.sources.realsense.index import ground_truth_path
from rt_sfamnet.sources.realsense.playback import PlaybackSource
from rt_sfamnet.sources.realsense.recorder import write_recording
from rt_sfamnet.sources.realsense.sdk import intrinsics_from_rs, intrinsics_to_rs

__all__ = [
    "CAMERA_MODES",
    "CameraSource",
    "PlaybackSource",
    "connected_cameras",
    "ground_truth_path",
    "intrinsics_from_rs",
    "intrinsics_to_rs",
    "record_camera",
    "write_recording",
]
