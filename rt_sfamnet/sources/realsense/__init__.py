"""Intel RealSense sources: the live D415 camera, recording playback and recording writers.

pyrealsense2 is imported lazily, inside functions, so importing this package needs NumPy
alone; recordings also play without it (:mod:`.rosbag`). One concern per module:

========================  =================================================================
:mod:`.sdk`               pyrealsense2 access, SDK frame conversion (alignment, copies,
                          RGB), intrinsics conversion, loading a recording as a device
:mod:`.index`             recording files: the ``.db3`` frame index, file checks, the
                          ground-truth sidecar (:func:`ground_truth_path`)
:mod:`.playback`          :class:`PlaybackSource` (``.db3`` and ROS1 ``.bag``, seek, pacing)
:mod:`.camera`            :class:`CameraSource` (live D415), :func:`record_camera`,
                          :func:`connected_cameras`, :data:`CAMERA_MODES`
:mod:`.recorder`          :func:`write_recording` (frames -> ``.db3`` through
                          ``rs.software_device`` and ``rs.recorder``)
:mod:`.rosbag`            :class:`RosbagPlaybackSource`: playback through ``rosbags``
                          without the SDK; :func:`playback_source` picks SDK or rosbags
:mod:`.align`             :func:`align_depth_to_color`: ``rs.align`` in NumPy
========================  =================================================================

Shared parts live outside the package: the drop-oldest / backpressure queue is
:class:`rt_sfamnet.queues.BoundedQueue`, real-time pacing is :class:`rt_sfamnet.pacing.Pacer`.
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
