"""An event's evidence, replayed from its source: face crops, apex input maps, attention.

An analysis folder names its source (``summary.json``: ``source_path``) and its settings
(weights, mode, scale, clamp, ``frame_skip``, ``k_sw``). :class:`SourceReplay` opens that
source again and, for one event, runs the pipeline's own stages on the few frames it needs:
:class:`~rt_sfamnet.pipeline.stages.FaceStage` (MediaPipe landmarks and the depth check) and
:class:`~rt_sfamnet.pipeline.stages.FlowStage` (scheduler + :class:`PairBuilder`: the crops
and flow maps of the sample whose window starts at the apex). The crop box of the apex sample
is the engine's own (``face_x0, face_y0, face_size`` of ``frames.csv``), so the replayed maps
are the ones the network scored up to the tracker's landmark jitter on the nose; the
replayed score is kept next to the recorded one for the reader to compare.

Only the events asked for are replayed (``analyze --attention``, the report, the GUI's review
and export); nothing here runs per sample.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.attention import AttentionMaps, AttentionProbe
from rt_sfamnet.report.results import finite

__all__ = ["EventEvidence", "SourceReplay", "attention_at", "source_problem"]

WARM_UP_FRAMES = 8
"""Frames tracked before the onset so the face tracker's box has settled."""


@dataclass
class EventEvidence:
    """What the report and the per-event PNG show of one event.

    Attributes:
        event: the event's row (``onset, apex, offset, type, emotion, confidence, start_s,
            end_s``...).
        crops: ``"onset"``, ``"apex"``, ``"offset"`` -> the face crop, ``S x S x 3`` uint8 RGB
            (``S = FeatureConfig.crop_size``, 128), each frame cut with its own face box; a
            key is missing when that frame had no face or could not be read.
        maps: the apex sample's network input, ``3 x 42 x 42`` float32 (u, v, w), or None.
        attention: the :class:`~rt_sfamnet.attention.AttentionMaps` of ``maps``, or None.
        score: the network's score of the replayed maps (compare with ``recorded_score``).
        recorded_score: ``frames.csv``'s score of the apex sample (NaN if absent).
        note: why something is missing (empty when complete).
    """

    event: dict[str, Any]
    crops: dict[str, np.ndarray] = field(default_factory=dict)
    maps: np.ndarray | None = None
    attention: AttentionMaps | None = None
    score: float = float("nan")
    recorded_score: float = float("nan")
    note: str = ""


def source_problem(summary: dict[str, Any]) -> str:
    """Why the source of an analysis cannot be replayed ("" when it can)."""
    path = summary.get("source_path")
    if not path:
        return (f"the analysis names no source file (source: {summary.get('source', '?')!r}); "
                "only recordings and frame folders can be read again")
    if not Path(path).is_absolute():  # a camera or the simulator: nothing to read again
        return (f"the source {path!r} is not a file: only recordings and frame folders can be "
                "read again")
    if not Path(path).exists():
        return f"the source {path} is gone (moved or deleted)"
    return ""


def _predictor(summary: dict[str, Any], predictor: Any) -> Any:
    if predictor is not None:
        return predictor
    from rt_sfamnet.predictor import Predictor

    names = summary.get("class_names") or []
    emotions = len(names) - 1 if names else None
    return Predictor.from_file(summary.get("weights"), emotions=emotions, device="cpu")


def _settings(summary: dict[str, Any], meta: Any) -> Any:
    """The run's settings again (``resolve_settings`` over the summary's values)."""
    from rt_sfamnet.pipeline import EngineConfig
    from rt_sfamnet.pipeline.settings import resolve_settings

    feats = summary.get("features") or {}
    overrides = {k: feats[k] for k in ("mode", "input_scale") if feats.get(k) is not None}
    config = EngineConfig(frame_skip=summary.get("frame_skip"), k_sw=summary.get("k_sw"),
                          features=overrides, input_clip=feats.get("input_clip"), device="cpu")
    return resolve_settings(config, meta, "cpu", summary.get("fps"))


class SourceReplay:
    """Replays events of one analysis folder from its source (open it with ``with``).

    Args:
        summary: the folder's ``summary.json`` object.
        frames: the folder's ``frames.csv`` table (pandas), for the engine's crop boxes and
            scores of each sample.
        predictor: a :class:`~rt_sfamnet.predictor.Predictor` to reuse; None: load the
            summary's weights on the CPU.

    Raises:
        SourceError: the source is gone (:func:`source_problem` says why, before opening).
    """

    def __init__(self, summary: dict[str, Any], frames: Any, predictor: Any = None) -> None:
        from rt_sfamnet.errors import SourceError

        problem = source_problem(summary)
        if problem:
            raise SourceError(problem)
        self.summary = summary
        self.predictor = _predictor(summary, predictor)
        self.settings = _settings(summary, self.predictor.meta)
        self.probe = AttentionProbe.from_predictor(self.predictor)
        self._rows = {int(f): row for f, row in zip(frames["frame"], frames.to_dict("records"),
                                                     strict=True)}
        self._source: Any = None
        self._face: Any = None

    def __enter__(self) -> SourceReplay:
        from rt_sfamnet.face import FaceTracker
        from rt_sfamnet.pipeline.stages import FaceStage
        from rt_sfamnet.sources import make_source

        self._source = make_source(self.summary["source_path"]).open()
        self._face = FaceStage(FaceTracker())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._face is not None:
            self._face.tracker.close()
        if self._source is not None:
            self._source.close()
        self._source = self._face = None

    def ground_truth(self) -> list[dict[str, Any]]:
        """The source's own ground-truth intervals (``onset, apex, offset, type, emotion``),
        empty when it has none (a ``--gt`` file given to ``analyze`` is not recorded)."""
        truth = self._source.ground_truth or []
        return [{"onset": iv.onset, "apex": iv.apex, "offset": iv.offset, "type": iv.type,
                 "emotion": iv.emotion} for iv in truth]

    def _observed(self, first: int, last: int) -> dict[int, Any]:
        """Frames ``first..last`` through the face stage, by frame index."""
        src = self._source
        self._face.reset()
        if src.seekable:
            src.seek(first)
        out: dict[int, Any] = {}
        for frame in src:
            if frame.index < first:
                continue
            if frame.index > last:
                break
            out[frame.index] = self._face.observe(frame)
        return out

    def _engine_box(self, item: Any, frame: int) -> Any:
        """``item`` with the engine's crop box of sample ``frame`` (from frames.csv)."""
        from rt_sfamnet.face import CropBox

        row = self._rows.get(frame)
        if item.obs is None or row is None:
            return item
        values = [finite(row.get(k)) for k in ("face_x0", "face_y0", "face_size")]
        if any(v is None for v in values):  # a sample without a face
            return item
        box = CropBox(*(int(v) for v in values))
        return dataclasses.replace(item, obs=dataclasses.replace(item.obs, box=box))

    def _apex_maps(self, seen: dict[int, Any], apex: int) -> tuple[np.ndarray | None, str]:
        """The apex sample's maps through the pipeline's FlowStage, or (None, why)."""
        from rt_sfamnet.pipeline.stages import FlowStage, PairBuilder, SampleScheduler

        s = self.settings
        stage = FlowStage(SampleScheduler(s.frame_skip, s.k_sw),
                          PairBuilder(s.features, s.input_clip, "cpu"))
        stage.reset(apex)
        samples = []
        for index in (apex, apex + s.k_sw):
            if index not in seen:
                return None, f"frame {index} could not be read from the source"
            item = self._engine_box(seen[index], apex) if index == apex else seen[index]
            samples += stage.add(item)
        first = [smp for smp in samples if smp.frame == apex]
        if not first or first[0].reason:
            why = first[0].reason if first else "not scheduled"
            return None, f"the apex sample (frame {apex}) has no maps: {why}"
        stage.build(first)
        return first[0].maps, ""

    def evidence(self, event: dict[str, Any]) -> EventEvidence:
        """Crops at onset, apex and offset, the apex maps and their attention."""
        from rt_sfamnet.features import crop_frame

        onset, offset = int(event["onset"]), int(event["offset"])
        apex = finite(event.get("apex"))
        apex = onset if apex is None else int(apex)  # an event without an apex: its onset
        ev = EventEvidence(event={**event, "apex": apex})
        score = finite((self._rows.get(apex) or {}).get("score"))
        if score is not None:
            ev.recorded_score = score
        k_sw = self.settings.k_sw
        seen = self._observed(max(0, onset - WARM_UP_FRAMES), max(offset, apex + k_sw))
        size, resize = self.settings.features.crop_size, self.settings.features.depth_resize
        for name, index in (("onset", onset), ("apex", apex), ("offset", offset)):
            item = seen.get(index)
            if item is not None and item.obs is not None:
                ev.crops[name] = np.ascontiguousarray(
                    crop_frame(item.frame, item.obs, size, resize).color)
        maps, ev.note = self._apex_maps(seen, apex)
        if maps is not None:
            ev.maps = maps
            names = tuple(self.predictor.class_names)
            emotion = str(event.get("emotion", ""))
            # Grad-CAM explains the event's emotion (its argmax at the apex if not a class)
            ev.attention = self.probe(maps, names.index(emotion) if emotion in names else None)
            ev.score = ev.attention.score
        return ev


def attention_at(result: Any, event: Any, predictor: Any = None) -> EventEvidence:
    """The apex attention of one event of an analysis (``rt_sfamnet.attention_at``).

    Args:
        result: an :class:`~rt_sfamnet.api.Analysis` (``rt_sfamnet.analyze``), or an analysis
            folder (``str``/``Path``).
        event: the event's row number in ``result.events`` (0-based), or the row itself (a
            mapping or pandas Series with ``onset, apex, offset, emotion``).
        predictor: a :class:`~rt_sfamnet.predictor.Predictor` to reuse (None: load the
            analysis' weights).

    Returns:
        An :class:`EventEvidence`: ``.attention`` (:class:`~rt_sfamnet.attention.AttentionMaps`,
        every map ``42 x 42`` float32 in [0, 1]), ``.maps`` (``3 x 42 x 42`` float32),
        ``.crops`` (onset, apex, offset face crops).

    Raises:
        SourceError: the analysis' source cannot be read again (a camera, the simulator, or a
            file that is gone). ConfigError: ``event`` is not a row of the events table.
    """
    from rt_sfamnet.errors import ConfigError

    if isinstance(result, (str, Path)):
        from rt_sfamnet.report.results import load_results

        result = load_results(result)
    events = result.events
    if isinstance(event, (int, np.integer)):
        if not 0 <= int(event) < len(events):
            raise ConfigError(f"event must be a row of the events table (0..{len(events) - 1}),"
                              f" found {event}")
        row = events.iloc[int(event)].to_dict()
        row["number"] = int(event)
    else:
        row = dict(event)
    with SourceReplay(result.summary, result.frames, predictor) as replay:
        return replay.evidence(row)
