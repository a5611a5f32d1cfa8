"""Your own recordings as a dataset: every ``.db3``/``.bag`` in a folder with its annotations.

Each recording ``DIR/<stem>.db3`` (or ``.bag``) is one video. Its intervals come from
``<stem>.annotations.csv`` (a review, :mod:`rt_sfamnet.annotations`: accepted, added and
edited rows; rejected rows are not intervals; pending rows stop the load, since an
unreviewed expression would become a negative), or else from ``<stem>.gt.csv`` (an
interval file, e.g. a simulated recording's ground truth). The subject is the ``subject``
column (one per recording, read from every row, rejected ones included) or, when empty,
the recording's stem; the video name is the stem. A subject (or stem) that is not one plain
folder name (``../x``, ``a/b``, a leading dot) is refused with the file it came from, never
used as a path nor rewritten (:func:`rt_sfamnet.datasets.cache.check_name`).

:class:`RecordingVideo` has the interface :func:`rt_sfamnet.datasets.extract.extract_video`
reads (``subject``, ``video``, ``n_frames``, ``fps``, ``intervals``, ``read_frame``), so
``rt-sfamnet extract --dataset recordings`` writes the same feature cache as for CAS(ME)^3.
Frames are decoded by :class:`~rt_sfamnet.sources.realsense.PlaybackSource` with the rosbags backend
(the same frames as the SDK's playback, without its threads), in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval

RECORDING_SUFFIXES = (".db3", ".bag")


@dataclass
class RecordingVideo:
    """One recording of the dataset (a :class:`~rt_sfamnet.datasets.casme3.Video` look-alike).

    Attributes:
        subject, video: names (video = the recording's stem).
        path: the recording.
        intervals: its confirmed intervals, 0-based frames.
        annotation_file: where they came from.
        n_frames, fps: from the recording's index.
    """

    subject: str
    video: str
    path: Path
    intervals: list[Interval] = field(default_factory=list)
    annotation_file: Path | None = None
    n_frames: int = 0
    fps: float = 30.0
    _source: Any = field(default=None, repr=False, compare=False)
    _frames: Iterator[RGBDFrame] | None = field(default=None, repr=False, compare=False)
    _next: int = field(default=0, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.subject, self.video)

    @property
    def uid(self) -> str:
        """The name that stays when the review changes the subject: the file stem (a
        feature cache moves the video's entry to its new subject, never copies it)."""
        return self.video

    def source_identity(self, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """What a cache entry of this video is made from: the recording file's name, size,
        mtime and SHA-256 (:func:`rt_sfamnet.datasets.cache.file_identity`)."""
        from rt_sfamnet.datasets.cache import file_identity

        return file_identity(self.path, known)

    def problems(self) -> list[str]:
        out = []
        for iv in self.intervals:
            if iv.offset >= self.n_frames:
                out.append(f"{self.path.name}: {iv.type} {iv.onset}-{iv.offset} ends after the "
                           f"last frame ({self.n_frames - 1})")
        return out

    def _open(self) -> Any:
        if self._source is None:
            from rt_sfamnet.sources.realsense.playback import PlaybackSource

            self._source = PlaybackSource(self.path, backend="rosbags").open()
        return self._source

    def read_frame(self, i: int, intrinsics: Intrinsics | None = None) -> RGBDFrame:
        """Frame ``i`` (0-based) with the recording's own intrinsics (``intrinsics`` is
        ignored). Reading forwards is sequential; going back seeks."""
        src = self._open()
        if self._frames is None or i < self._next:
            src.seek(int(i))
            self._frames = iter(src)
        for frame in self._frames:
            self._next = frame.index + 1
            if frame.index == i:
                return frame
            if frame.index > i:
                break
        self._frames = None
        raise DatasetError(f"{self.path}: frame {i} cannot be read (the recording has "
                           f"{self.n_frames} frames)")

    def close(self) -> None:
        src, self._source, self._frames, self._next = self._source, None, None, 0
        if src is not None:
            src.close()

    def __getstate__(self) -> dict:  # pickled for worker processes: without the open file
        state = dict(self.__dict__)
        state.update(_source=None, _frames=None, _next=0)
        return state


def find_recordings(root: str | Path) -> list[Path]:
    """The ``.db3``/``.bag`` files directly in ``root``, sorted (DatasetError if none)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"recordings folder {root} does not exist or is not a folder")
    found = sorted(p for p in root.iterdir()
                   if p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES)
    if not found:
        raise DatasetError(f"{root}: found no recordings; expected .db3 or .bag files with "
                           f"their <stem>.annotations.csv (or <stem>.gt.csv) beside them")
    return found


def recording_intervals(recording: Path) -> tuple[list[Interval], Path]:
    """The confirmed intervals of a recording and the file they came from.

    Raises:
        DatasetError: no annotation file, or rows still pending review.
        InputFileError: a malformed annotation or interval file.
    """
    intervals, source, _subjects = _labels(recording)
    return intervals, source


def _labels(recording: Path) -> tuple[list[Interval], Path, list[str]]:
    """:func:`recording_intervals` and the subjects named by every row of the file (a
    rejected row names the subject too: rejecting every expression of a recording must
    not move it to another subject)."""
    from rt_sfamnet.annotations import PENDING, annotations_path, read_annotations
    from rt_sfamnet.intervals import read_intervals
    from rt_sfamnet.sources.realsense import ground_truth_path

    ann, gt = annotations_path(recording), ground_truth_path(recording)
    if ann.is_file():
        rows = read_annotations(ann)
        pending = [r for r in rows if r.status == PENDING]
        if pending:
            raise DatasetError(f"{ann}: {len(pending)} row(s) not reviewed yet (status "
                               f"pending, first at frame {pending[0].onset}); accept or "
                               "reject them in review mode first")
        return ([r.to_interval() for r in rows if r.confirmed], ann,
                sorted({r.subject for r in rows if r.subject}))
    if gt.is_file():
        ivs = read_intervals(gt)
        return ivs, gt, sorted({iv.subject for iv in ivs if iv.subject})
    raise DatasetError(f"{recording}: no {ann.name} (a review) or {gt.name} beside it; "
                       "expected one of them")


def _subject(recording: Path, names: list[str], source: Path) -> str:
    from rt_sfamnet.datasets.cache import check_name

    if len(names) > 1:
        raise DatasetError(f"{source}: several subjects {names} in one recording; expected "
                           "one subject per recording")
    subject = names[0] if names else recording.stem
    check_name(subject, "subject", source)
    check_name(recording.stem, "recording", recording)
    return subject


def load_recording(path: str | Path) -> RecordingVideo:
    """One recording with its intervals, frame count and frame rate."""
    from rt_sfamnet.sources.realsense.playback import PlaybackSource

    p = Path(path)
    intervals, source, names = _labels(p)
    subject = _subject(p, names, source)
    intervals = [replace(iv, subject=subject, video=p.stem) for iv in intervals]
    try:
        src = PlaybackSource(p, backend="rosbags").open()
    except RtSfamnetError as exc:
        raise DatasetError(f"{p}: cannot be read as a recording: {exc}") from None
    try:
        n, fps = int(src.frame_count or 0), float(src.fps)
    finally:
        src.close()
    return RecordingVideo(subject, p.stem, p, intervals, source, n, fps)


def load_recordings(root: str | Path):
    """Every recording in ``root`` as a :class:`~rt_sfamnet.datasets.casme3.Dataset`
    (``name = "recordings"``)."""
    from rt_sfamnet.datasets.annotations import Annotations
    from rt_sfamnet.datasets.casme3 import Dataset

    videos = [load_recording(p) for p in find_recordings(root)]
    twice = [k for k, n in Counter(v.key for v in videos).items() if n > 1]
    if twice:
        raise DatasetError(f"{root}: recordings with the same stem {sorted(twice)}; expected "
                           "one recording per name")
    fps = {v.fps for v in videos}
    if len(fps) > 1:
        raise DatasetError(f"{root}: recordings at different frame rates {sorted(fps)}; "
                           "expected one frame rate per dataset")
    intervals = [iv for v in videos for iv in v.intervals]
    return Dataset(Path(root), videos, Annotations(intervals), [], None, "recordings")


def recordings_stats(dataset) -> dict[str, Any]:
    """``{"recordings", "subjects", "frames", "intervals", "micro", "macro", "emotions"}``;
    emotions counts every interval's emotion as written ("" = none)."""
    ivs = [iv for v in dataset.videos for iv in v.intervals]
    return {
        "recordings": len(dataset.videos),
        "subjects": len({v.subject for v in dataset.videos}),
        "frames": int(sum(v.n_frames for v in dataset.videos)),
        "intervals": len(ivs),
        "micro": sum(iv.type == "micro" for iv in ivs),
        "macro": sum(iv.type == "macro" for iv in ivs),
        "emotions": dict(sorted(Counter(iv.emotion for iv in ivs).items())),
        "problems": len(dataset.problems()),
    }


def format_stats(st: dict[str, Any]) -> str:
    """:func:`recordings_stats` as a text table (an empty emotion shows as "—")."""
    lines = []
    for key, value in st.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k or '—'} {n}" for k, n in value.items()) or "none"
        lines.append(f"{key:10} {value}")
    return "\n".join(lines)


__all__ = ["RECORDING_SUFFIXES", "format_stats", "RecordingVideo", "find_recordings", "load_recording",
           "load_recordings", "recording_intervals", "recordings_stats"]
