"""The feature cache: per-video flow maps and labels on disk, read lazily, written atomically.

Layout (cache format 2)::

    <cache>/meta.json                           extraction settings + the cache's ``id``
    <cache>/videos/<subject>/<video>/           one folder per finished video:
        maps.npy      (N, 3, 42, 42) float16 or float32   spotting samples
        gt_maps.npy   (M, 3, 42, 42) same dtype           ground-truth recognition samples
        frames.npy    (N,) int64    first frame of each sample (0-based)
        valid.npy     (N,) bool     a face was known for the sample (invalid: zeros)
        index.json    n_frames, the GT samples (onset, apex, 7-class emotion), every
                      annotated interval (0-based frames), each .npy's size and SHA-256,
                      and ``source``: the identity of what the video was made from (for
                      a recording: its file name, size, mtime and SHA-256)

What an entry was made from is checked on every ``extract`` (:meth:`FeatureCache.outdated`):
an entry whose subject, annotated intervals (subject, video, onset, apex, offset, type,
emotion), frame count or source file differ from the dataset's video now is redone, and an
entry of the same video under another subject (a recording whose subject was changed in its
review) is removed (:meth:`FeatureCache.remove_moved`), so a video is in exactly one subject.
Subject and video names become folder names only when they are one plain path component
(:func:`check_name`); anything else (``../x``, ``a/b``, a leading dot) is refused.

:meth:`FeatureCache.entry_digest` is a SHA-256 of an entry's content (its arrays' checksums,
labels and frame count): training run folders record it for every entry a fold used.

Spotting sample ``i`` is the flow between frames ``frames[i]`` and ``frames[i] + k_sw``,
streams in network order (u, v, w); units: crop pixels (mm for scene ``w``) times the
extraction ``input_scale``.

The ``.npy`` files are opened with ``np.load(mmap_mode="r")`` (:meth:`FeatureCache.load`):
nothing is read until rows are indexed, so training touches only the rows it samples, and a
float16 cache stays float16 on disk and in the page cache (callers cast the gathered rows).

A video folder appears only once complete: it is written to a uniquely named
``.<video>.partial-<host>-<pid>-<random>`` folder and renamed into place. Two writers never
touch each other's files: a writer that finds the video already finished by another keeps
that one and drops its own copy, and :meth:`FeatureCache.init` removes only partial folders
of dead processes of this host. :meth:`FeatureCache.verify` re-hashes a finished video
against its index (``extract`` redoes damaged videos).

Format 1 caches (one ``.npz`` per video) are refused with the command that converts them
(``rt-sfamnet extract --migrate --cache DIR``, :func:`migrate`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.labels import GTSample, pseudo_labels
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.fileio import read_json
from rt_sfamnet.intervals import Interval

CACHE_VERSION = 2
MAP_SHAPE = (3, 42, 42)
ARRAYS = ("maps", "gt_maps", "frames", "valid")

#: meta.json keys that must agree for an existing cache to be resumed.
RESUME_KEYS = ("version", "dataset", "flow", "frame_skip", "k_sw", "float16", "features")


@dataclass
class VideoFeatures:
    """One video's cached features (see the module docstring for shapes and units).

    ``maps`` and ``gt_maps`` are read-only memory maps when loaded from a cache (their
    stored dtype); index them to read rows.
    """

    subject: str
    video: str
    maps: np.ndarray
    frames: np.ndarray
    valid: np.ndarray
    gt_maps: np.ndarray
    gt: list[GTSample]
    intervals: list[Interval]
    n_frames: int
    source: dict[str, Any] | None = field(default=None)

    def labels(self, frame_skip: int) -> tuple[np.ndarray, list[str]]:
        """Pseudo-labels ``(spot (N,) float32, emotion names)`` of the spotting samples."""
        return pseudo_labels(len(self.frames), self.intervals, frame_skip)


def intervals_to_list(intervals: Iterable[Interval]) -> list[dict[str, Any]]:
    return [{"subject": iv.subject, "video": iv.video, "onset": iv.onset, "apex": iv.apex,
             "offset": iv.offset, "type": iv.type, "emotion": iv.emotion, "extra": iv.extra}
            for iv in intervals]


def label_rows(intervals: Iterable[Interval]) -> list[list[Any]]:
    """The fields of intervals that labels depend on, in a comparable form (``extra``
    columns such as the reviewer and the time of the review are left out)."""
    return [[str(iv.subject), str(iv.video), int(iv.onset),
             None if iv.apex is None else int(iv.apex), int(iv.offset), str(iv.type),
             str(iv.emotion)] for iv in intervals]


def check_name(name: str, what: str, where: Any = None) -> str:
    """``name`` if it is usable as one folder name of the cache, else DatasetError.

    A subject or video name read from a file must be one plain path component: not empty,
    not ``.``/``..``, no ``/``, ``\\`` or NUL, no leading dot (hidden entries are partial
    writes) and no surrounding spaces. Names are refused, never rewritten: a rewritten name
    could merge two subjects.
    """
    s = str(name)
    bad = (not s or s in (".", "..") or s.startswith(".") or s != s.strip()
           or any(c in s for c in ("/", "\\", "\0")) or len(s.encode()) > 200)
    if bad:
        src = f"{where}: " if where is not None else ""
        raise DatasetError(f"{src}{what} name {s!r} cannot name a cache folder; expected one "
                           f"plain name (letters, digits, '-', '_', '.', no path separator, "
                           f"no leading dot, not '..')")
    return s


def file_identity(path: str | Path, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"file", "bytes", "mtime_ns", "sha256"}`` of a file (what a cache entry was made
    from). When ``known`` has the same size and modification time, its SHA-256 is reused
    instead of hashing the file again."""
    p = Path(path)
    st = p.stat()
    if (known and known.get("bytes") == st.st_size and known.get("mtime_ns") == st.st_mtime_ns
            and known.get("sha256")):
        digest = known["sha256"]
    else:
        digest = _sha256(p)
    return {"file": p.name, "bytes": int(st.st_size), "mtime_ns": int(st.st_mtime_ns),
            "sha256": digest}


def _unique_tmp(p: Path) -> Path:
    return p.with_name(f".{p.name}.partial-{socket.gethostname()}-{os.getpid()}-"
                       f"{uuid.uuid4().hex[:8]}")


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write JSON through a uniquely named temporary file renamed into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _unique_tmp(p)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default))
        os.replace(tmp, p)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def create_json_once(path: str | Path, data: Any) -> bool:
    """Write ``path`` only if it does not exist yet (atomic, exclusive: of two concurrent
    callers exactly one writes). Returns True when this call wrote it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _unique_tmp(p)
    text = json.dumps(data, indent=2, default=_json_default)
    try:
        tmp.write_text(text)  # a full or read-only disk fails here, leaving nothing
        try:
            os.link(tmp, p)  # fails if p exists
            return True
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: exclusive create instead
            try:
                fh = open(p, "x")  # noqa: SIM115 - removed again when the write fails
            except FileExistsError:
                return False
            try:
                with fh:
                    fh.write(text)
            except BaseException:
                with contextlib.suppress(OSError):
                    p.unlink()  # never a half-written file that a later run would read
                raise
            return True
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_partial(p: Path) -> bool:
    """A partial file/folder of a dead process of this host (others are left alone)."""
    try:
        tail = p.name.rsplit(".partial-", 1)[1]
        host, pid, _rand = tail.rsplit("-", 2)
        return host == socket.gethostname() and not _pid_alive(int(pid))
    except (IndexError, ValueError):
        return False


class FeatureCache:
    """A feature cache folder (see the module docstring).

    Args:
        path: the cache folder.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- metadata ----------------------------------------------------------------------------
    @property
    def meta_path(self) -> Path:
        return self.path / "meta.json"

    def exists(self) -> bool:
        return self.meta_path.is_file()

    @property
    def meta(self) -> dict[str, Any]:
        """meta.json; a format-1 cache is refused with the command that converts it."""
        if not self.meta_path.is_file():
            raise DatasetError(f"{self.path} is not a feature cache (no meta.json); run "
                               f"`rt-sfamnet extract` first")
        meta = read_json(self.meta_path, "feature cache metadata", error=DatasetError)
        if meta.get("version") != CACHE_VERSION:
            raise DatasetError(
                f"{self.path} is a feature cache of format {meta.get('version')}; this version "
                f"reads format {CACHE_VERSION}: convert it with `rt-sfamnet extract --migrate "
                f"--cache {self.path}` (or extract again into a new --cache)")
        return meta

    @property
    def id(self) -> str:
        """The cache's identity (a random id made when the cache was created)."""
        return str(self.meta["id"])

    def init(self, meta: dict[str, Any], resume: bool = True) -> None:
        """Create the cache or check that an existing one was made with the same settings.

        Removes partial files of dead writers of this host (never another live writer's).
        Safe against a concurrent ``init`` of the same cache: exactly one creates meta.json.

        Raises:
            DatasetError: the cache exists with different settings (name them), or in an
                older format.
        """
        meta = {"version": CACHE_VERSION, **meta, "id": uuid.uuid4().hex}
        self.path.mkdir(parents=True, exist_ok=True)
        if not create_json_once(self.meta_path, meta):
            old = self.meta
            diff = [k for k in RESUME_KEYS if json.dumps(old.get(k), sort_keys=True,
                                                         default=_json_default)
                    != json.dumps(meta.get(k), sort_keys=True, default=_json_default)]
            if diff:
                raise DatasetError(
                    f"{self.path} holds features made with other settings ({', '.join(diff)}: "
                    f"{[old.get(k) for k in diff]} there, {[meta.get(k) for k in diff]} now); "
                    f"use another --cache folder"
                )
            if not resume:
                for s, v in self.keys():
                    self.remove(s, v)
        for p in self.path.rglob("*.partial-*"):
            if _stale_partial(p):
                _remove(p)

    # -- videos ------------------------------------------------------------------------------
    def video_path(self, subject: str, video: str) -> Path:
        """The video's folder (DatasetError for a name that is not one plain folder name,
        :func:`check_name`)."""
        return self.path / "videos" / check_name(subject, "subject") / check_name(video, "video")

    def video_files(self, subject: str | None = None) -> list[Path]:
        """The index files of every finished video (of one subject if given)."""
        d = self.path / "videos"
        if not d.is_dir():
            return []
        pattern = f"{subject}/*/index.json" if subject else "*/*/index.json"
        return sorted(p for p in d.glob(pattern) if not p.parent.name.startswith("."))

    def has(self, subject: str, video: str) -> bool:
        return (self.video_path(subject, video) / "index.json").is_file()

    def keys(self, subject: str | None = None) -> list[tuple[str, str]]:
        """``(subject, video)`` of every finished video (of one subject if given), sorted by
        subject number and video."""
        from rt_sfamnet.datasets.casme3 import subject_sort_key

        keys = [(p.parent.parent.name, p.parent.name) for p in self.video_files(subject)]
        return sorted(keys, key=lambda k: (subject_sort_key(k[0]), k[1]))

    @property
    def subjects(self) -> list[str]:
        from rt_sfamnet.datasets.casme3 import subject_sort_key

        return sorted({k[0] for k in self.keys()}, key=subject_sort_key)

    def write(self, feats: VideoFeatures, float16: bool = False) -> Path:
        """Write one video atomically (a private partial folder, renamed into place).

        If another writer finished the same video meanwhile, its copy is kept and this one
        dropped. Returns the video's folder.
        """
        _check_maps(feats.maps, "maps")
        _check_maps(feats.gt_maps, "gt_maps")
        dt = np.float16 if float16 else np.float32
        final = self.video_path(feats.subject, feats.video)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _unique_tmp(final)
        tmp.mkdir()
        try:
            arrays = {"maps": np.asarray(feats.maps).astype(dt),
                      "gt_maps": np.asarray(feats.gt_maps).astype(dt),
                      "frames": np.asarray(feats.frames, np.int64),
                      "valid": np.asarray(feats.valid, bool)}
            files = {}
            for name, a in arrays.items():
                p = tmp / f"{name}.npy"
                with p.open("wb") as fh:
                    np.save(fh, a)
                    fh.flush()
                    os.fsync(fh.fileno())
                files[f"{name}.npy"] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
            index = {"n_frames": int(feats.n_frames),
                     "gt": [[int(g.onset), int(g.apex), str(g.emotion)] for g in feats.gt],
                     "intervals": intervals_to_list(feats.intervals), "files": files}
            if feats.source is not None:
                index["source"] = feats.source
            (tmp / "index.json").write_text(json.dumps(index))
            try:
                os.rename(tmp, final)
            except OSError:
                if not self.has(feats.subject, feats.video):
                    raise
        finally:
            if tmp.exists():
                _remove(tmp)
        return final

    def remove(self, subject: str, video: str) -> None:
        """Delete a finished (or damaged) video (moved aside first, then removed)."""
        final = self.video_path(subject, video)
        if not final.exists():
            return
        aside = _unique_tmp(final)
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            return
        _remove(aside)

    def _index(self, subject: str, video: str) -> dict[str, Any]:
        d = self.video_path(subject, video)
        if not (d / "index.json").is_file():
            raise DatasetError(f"{d}: not in the cache (extract it first)")
        return read_json(d / "index.json", "cache index (delete the folder and extract again)",
                         error=DatasetError)

    def entry_digest(self, subject: str, video: str) -> str:
        """SHA-256 of what a finished entry holds: its arrays' checksums, GT samples,
        labels and frame count (not where it was made from, nor the order of JSON keys)."""
        index = self._index(subject, video)
        try:
            body = {"subject": subject, "video": video, "n_frames": int(index["n_frames"]),
                    "files": {k: v["sha256"] for k, v in sorted(index["files"].items())},
                    "gt": index["gt"],
                    "labels": label_rows(Interval(**x) for x in index["intervals"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{self.video_path(subject, video)}: a broken cache file "
                               f"({exc!r} in index.json); run `rt-sfamnet extract` again with "
                               f"this --cache to redo it") from None
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def outdated(self, video: Any) -> str | None:
        """None if the finished entry of ``video`` (a dataset video: ``subject``, ``video``,
        ``intervals``, ``n_frames``, optionally ``source_identity(known)``) was made from
        what the video is now, else what changed."""
        s, v = video.subject, video.video
        index = self._index(s, v)
        if int(index.get("n_frames", -1)) != int(video.n_frames):
            return f"the video has {video.n_frames} frames now, {index.get('n_frames')} then"
        try:
            then = label_rows(Interval(**x) for x in index.get("intervals", []))
        except (TypeError, ValueError) as exc:
            return f"its labels cannot be read ({exc})"
        now = label_rows(video.intervals)
        if then != now:
            gone = [r for r in then if r not in now]
            new = [r for r in now if r not in then]
            return (f"the annotations changed ({len(gone)} interval(s) gone or edited, "
                    f"{len(new)} new or edited)")
        identity = getattr(video, "source_identity", None)
        if identity is None:
            return None
        known = index.get("source")
        if not isinstance(known, dict):
            return "made before the cache recorded what an entry is made from"
        current = identity(known)
        if (current.get("sha256"), current.get("bytes")) != (known.get("sha256"),
                                                            known.get("bytes")):
            return f"its source {current.get('file')} changed since it was extracted"
        if current != known:  # touched, same content: remember the new time (no re-hash)
            atomic_write_json(self.video_path(s, v) / "index.json", {**index, "source": current})
        return None

    def remove_moved(self, videos: Iterable[Any]) -> list[str]:
        """Remove the entries of ``videos`` that sit under another subject than the video's
        now (a recording whose subject changed in its review); returns what was removed.

        Only videos with a ``uid`` (a name that stays when the subject changes, e.g. a
        recording's file stem) can move; an entry's ``uid`` is its video folder name."""
        where = {str(v.uid): v.subject for v in videos if getattr(v, "uid", None)}
        removed = []
        for s, v in self.keys():
            if v in where and where[v] != s:
                self.remove(s, v)
                removed.append(f"{s}/{v}: its subject is {where[v]} now")
        return removed

    def verify_all(self, checksum: bool = True) -> list[str]:
        """What is wrong with the finished entries (an empty list when nothing is)."""
        return [f"{s}/{v}: {p}" for s, v in self.keys()
                if (p := self.verify(s, v, checksum)) is not None]

    def verify(self, subject: str, video: str, checksum: bool = True) -> str | None:
        """None if the finished video matches its index, else what is wrong.

        Sizes are always compared; ``checksum`` also re-hashes every array file.
        """
        d = self.video_path(subject, video)
        try:
            index = self._index(subject, video)
        except DatasetError as exc:
            return str(exc)
        files = index.get("files")
        if not isinstance(files, dict) or any(f"{n}.npy" not in files for n in ARRAYS):
            return f"{d / 'index.json'} lists no size and SHA-256 of every array file"
        for name, want in files.items():
            p = d / name
            if not p.is_file():
                return f"{p} is missing"
            if not isinstance(want, dict) or "bytes" not in want or "sha256" not in want:
                return f"{d / 'index.json'} has no size and SHA-256 of {name}"
            if p.stat().st_size != want["bytes"]:
                return f"{p} has {p.stat().st_size} bytes, the index says {want['bytes']}"
            if checksum and _sha256(p) != want["sha256"]:
                return f"{p} does not match its SHA-256 in the index (damaged)"
        return None

    def load(self, subject: str, video: str, mmap: bool = True) -> VideoFeatures:
        """Read one video; ``maps``/``gt_maps`` as stored (float16 or float32), memory-mapped
        unless ``mmap`` is False. File sizes are checked against the index."""
        d = self.video_path(subject, video)
        problem = self.verify(subject, video, checksum=False)
        if problem:
            raise DatasetError(f"{d}: a broken cache file ({problem}); delete it and extract "
                               f"again")
        index = self._index(subject, video)
        mode = "r" if mmap else None
        try:
            a = {n: np.load(d / f"{n}.npy", mmap_mode=mode if n.endswith("maps") else None,
                            allow_pickle=False) for n in ARRAYS}
            gt = [GTSample(int(o), int(ap), str(e)) for o, ap, e in index["gt"]]
            ivs = [Interval(**x) for x in index["intervals"]]
            return VideoFeatures(subject, video, a["maps"], a["frames"], a["valid"],
                                 a["gt_maps"], gt, ivs, int(index["n_frames"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{d}: a broken cache file ({exc}); delete it and extract "
                               f"again") from None


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            p.unlink()


def _check_maps(a: np.ndarray, name: str) -> None:
    if a.ndim != 4 or a.shape[1:] != MAP_SHAPE:
        raise ValueError(f"{name} must be (N, 3, 42, 42), found {a.shape}")


def migrate(path: str | Path) -> dict[str, int]:
    """Convert a format-1 cache (one ``.npz`` per video) to the current format in place.

    Each video is written in the new layout, then its ``.npz`` is deleted; an interrupted
    migration can be run again. Returns ``{"videos": converted}``.

    Raises:
        DatasetError: not a cache, or a broken ``.npz``.
    """
    root = Path(path)
    mp = root / "meta.json"
    if not mp.is_file():
        raise DatasetError(f"{root} is not a feature cache (no meta.json)")
    meta = read_json(mp, "feature cache metadata", error=DatasetError)
    if meta.get("version") == CACHE_VERSION:
        return {"videos": 0}
    cache = FeatureCache(root)
    n = 0
    for f in sorted((root / "videos").glob("*/*.npz")):
        try:
            with np.load(f, allow_pickle=False) as z:
                gt = [GTSample(int(o), int(a), str(e))
                      for o, a, e in zip(z["gt_onset"], z["gt_apex"], z["gt_emotion"], strict=True)]
                feats = VideoFeatures(f.parent.name, f.stem, z["maps"], z["frames"], z["valid"],
                                      z["gt_maps"], gt,
                                      [Interval(**d) for d in json.loads(str(z["intervals"]))],
                                      int(z["n_frames"]))
            _check_maps(feats.maps, "maps")
            _check_maps(feats.gt_maps, "gt_maps")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"{f}: a broken cache file ({exc}); delete it and run the "
                               f"migration again") from None
        cache.write(feats, float16=feats.maps.dtype == np.float16)
        f.unlink()
        n += 1
    for p in root.rglob("*.npz.partial"):
        p.unlink()
    atomic_write_json(mp, {**meta, "version": CACHE_VERSION, "id": meta.get("id") or uuid.uuid4().hex})
    return {"videos": n}
