"""Tests of the real-time engine (rt_sfamnet.pipeline) with the real simulator, face tracker,
flow stage, network and streaming spotter. The network is a seeded untrained SFAMNet (its
numbers do not matter for the plumbing); no timing asserts."""

from __future__ import annotations

import csv
import dataclasses
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import ConfigError, RecordingError, SourceError
from rt_sfamnet.intervals import read_intervals
from rt_sfamnet.pipeline.stats import LatencyWindow, RateMeter, percentiles_ms
from rt_sfamnet.queues import BoundedQueue, Control
from rt_sfamnet.sources.base import Source

# ----------------------------------------------------------------------------- pure parts


class _Marker(Control):
    pass


def test_drop_oldest_queue_drops_oldest_data_never_controls():
    q = BoundedQueue(3)
    m = _Marker()
    assert q.put_drop_oldest(m) == 0
    for i in range(3):
        assert q.put_drop_oldest(i) == 0
    assert q.put_drop_oldest(3) == 1  # 0 is dropped, the marker stays
    assert q.put_drop_oldest(4) == 1  # 1 is dropped
    assert q.dropped == 2
    assert q.get_many(10, 0.1) == [m]  # a control item ends a batch
    assert q.get_many(10, 0.1) == [2, 3, 4]
    assert q.get_many(10, 0.01) == []


def test_put_wait_backpressure_and_stop():
    q = BoundedQueue(1)
    stop = threading.Event()
    assert q.put_wait("a", stop)
    got: list = []

    def consumer():
        time.sleep(0.05)
        got.extend(q.get_many(1, 1.0))

    t = threading.Thread(target=consumer)
    t.start()
    assert q.put_wait("b", stop)  # waits until the consumer took "a"
    t.join()
    assert got == ["a"] and q.dropped == 0
    stop.set()
    assert q.put_wait("c", stop) is False  # full and stopping: gives up, drops nothing
    assert q.get_many(5, 0.1) == ["b"]
    assert q.clear() == 0


def test_schedule_of_needed_frames():
    from rt_sfamnet.pipeline.engine import needed_frame

    # frame_skip 2, k_SW 6: windows (0,6), (2,8), ... only even frames are needed
    assert [i for i in range(14) if needed_frame(i, 0, 2, 6)] == [0, 2, 4, 6, 8, 10, 12]
    # frame_skip 4, k_SW 6: starts 0,4,8,... and ends 6,10,14,...
    assert [i for i in range(16) if needed_frame(i, 0, 4, 6)] == [0, 4, 6, 8, 10, 12, 14]
    # frame_skip 1: every frame from the base on
    assert [i for i in range(8) if needed_frame(i, 3, 1, 6)] == [3, 4, 5, 6, 7]


def test_rate_and_latency_windows():
    r = RateMeter(window_s=2.0)
    for i in range(61):
        r.tick(now=10.0 + i / 30.0)  # 30 events/s for 2 s
    assert r.rate(now=12.0) == pytest.approx(30.0, rel=0.05)
    assert r.rate(now=20.0) == 0.0  # nothing in the last 2 s
    w = LatencyWindow(maxlen=100)
    for v in range(1, 201):
        w.add(float(v))
    p50, p95 = w.percentiles()  # only the last 100 values (101..200)
    assert p50 == pytest.approx(150.5) and p95 == pytest.approx(195.05)
    assert percentiles_ms([]) == (None, None)
    assert percentiles_ms([10.0, float("nan"), 30.0])[0] == pytest.approx(20.0)


def test_box_depth_fraction():
    from rt_sfamnet.face import CropBox
    from rt_sfamnet.pipeline import box_depth_fraction

    depth = np.zeros((100, 100), np.uint16)
    depth[:, :50] = 600
    assert box_depth_fraction(depth, CropBox(0, 0, 40)) == pytest.approx(1.0)
    assert box_depth_fraction(depth, CropBox(30, 0, 40)) == pytest.approx(0.5)
    assert box_depth_fraction(depth, CropBox(-20, -20, 40)) == pytest.approx(1.0)  # clipped
    assert box_depth_fraction(depth, CropBox(200, 200, 40)) == 0.0


def test_engine_config_validation():
    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.pipeline import EngineConfig

    with pytest.raises(ConfigError):
        EngineConfig(frame_skip=0)
    with pytest.raises(ConfigError):
        EngineConfig(speed=0)
    with pytest.raises(ConfigError):
        EngineConfig(device="tpu")
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_mapping(EngineConfig, {"frame_skp": 2})
    cfg = config_from_mapping(EngineConfig, {"frame_skip": 1, "spotting": {"variant": "paper"}})
    assert cfg.frame_skip == 1 and cfg.spotting.variant == "paper"


def test_frame_csv_writer_waits_for_final_curves(tmp_path):
    from rt_sfamnet.pipeline import FrameResult
    from rt_sfamnet.pipeline.writers import FrameCsvWriter

    names = ("negative", "positive", "surprise", "others", "neutral")
    w = FrameCsvWriter(tmp_path / "f.csv", names)
    probs = np.array([0.1, 0.2, 0.3, 0.1, 0.3], np.float32)
    rs = [FrameResult(2 * i, 0.1 * i, True, 0.25 * i, None, None, probs, "surprise", 12.5)
          for i in range(3)]
    rs.append(FrameResult(6, 0.6, False, None, None, None, None, None, 3.0, reason="no_face"))
    w.add_results(rs)
    w.add_curves({"micro": [(0, 0.1), (2, 0.2)], "macro": [(0, 0.05)]})
    w.flush()
    assert w.rows == 1  # only frame 0 has both smoothed values
    w.add_curves({"macro": [(2, 0.07)]})
    w.flush()
    assert w.rows == 2
    w.close()  # the rest is written with empty smoothed cells
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert [int(r["frame"]) for r in rows] == [0, 2, 4, 6]
    assert float(rows[1]["micro_smoothed"]) == pytest.approx(0.2)
    assert float(rows[1]["macro_smoothed"]) == pytest.approx(0.07)
    assert rows[2]["micro_smoothed"] == ""
    assert rows[3]["score"] == "" and rows[3]["face_found"] == "0" and rows[3]["label"] == ""
    assert float(rows[0]["prob_surprise"]) == pytest.approx(0.3)
    assert list(rows[0]) == ["frame", "timestamp", "face_found", "score", "micro_smoothed",
                             "macro_smoothed"] + [f"prob_{c}" for c in names] + ["label",
                                                                                 "latency_ms"]


def test_frame_csv_writer_keeps_camera_timestamps_to_the_millisecond(tmp_path):
    # a RealSense camera stamps frames in ms since the epoch: ~1.76e9 s
    from rt_sfamnet.pipeline import FrameResult
    from rt_sfamnet.pipeline.writers import FrameCsvWriter

    w = FrameCsvWriter(tmp_path / "f.csv", ("a", "neutral"))
    t0 = 1764138325.1234
    w.add_results([FrameResult(i, t0 + i / 30.0, False, None, None, None, None, None, 1.0)
                   for i in range(3)])
    w.close()
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    ts = [float(r["timestamp"]) for r in rows]
    assert ts == pytest.approx([t0, t0 + 1 / 30.0, t0 + 2 / 30.0], abs=1e-5, rel=0)
    assert ts[1] - ts[0] == pytest.approx(1 / 30.0, abs=1e-5)


def test_event_writer_csv_is_an_interval_file(tmp_path):
    from rt_sfamnet.pipeline.writers import EventWriter
    from rt_sfamnet.spotting import SpottedInterval

    w = EventWriter(tmp_path / "e.csv", tmp_path / "e.json", "sim", "seed1", fps=30.0)
    assert json.loads((tmp_path / "e.json").read_text()) == []
    iv = SpottedInterval("micro", 30, 36, 44, "positive", 0.8, 18)
    w.add([iv])
    events = json.loads((tmp_path / "e.json").read_text())  # valid while still open
    assert events == [{"type": "micro", "onset": 30, "apex": 36, "offset": 44,
                       "start_s": 1.0, "end_s": 1.5, "emotion": "positive",
                       "confidence": pytest.approx(0.8)}]
    w.close()
    (back,) = read_intervals(tmp_path / "e.csv")
    assert (back.subject, back.video, back.onset, back.apex, back.offset, back.type,
            back.emotion) == ("sim", "seed1", 30, 36, 44, "micro", "positive")
    assert float(back.extra["start_s"]) == 1.0 and float(back.extra["end_s"]) == 1.5


# ----------------------------------------------------------------------------- engine


@pytest.fixture(scope="module")
def predictor():
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.weights import WeightsMeta

    torch.manual_seed(0)
    return Predictor(SFAMNet(4), WeightsMeta(emotions=4), device="cpu", threads=1)


def sim(duration: float = 3.0, seed: int = 1):
    from rt_sfamnet.sources.simulated import SimulatedSource

    return SimulatedSource(seed=seed, duration_s=duration)


class ListSource(Source):
    """Replays frames rendered once by the real simulator (fast, so tests control timing)."""

    def __init__(self, frames, fps=30.0, name="simulator replay"):
        self.frames, self.fps, self.name = frames, fps, name
        self.opened = 0

    def open(self):
        self.opened += 1
        return self

    def close(self):
        pass

    @property
    def frame_count(self):
        return len(self.frames)

    def __iter__(self):
        yield from self.frames


@pytest.fixture(scope="module")
def sim_frames():
    src = sim(3.0)
    with src:
        return list(src)


class FaultySource(Source):
    """A real source whose frames are altered: no face (grey colour), no depth, a failure."""

    def __init__(self, inner: Source, blank=(), zero_depth=(), fail_at=None, live=False,
                 delay_s=0.0):
        self.inner = inner
        self.name = f"faulty {inner.name}"
        self.fps = inner.fps
        self.live = live
        self.blank, self.zero_depth = set(blank), set(zero_depth)
        self.fail_at, self.delay_s = fail_at, delay_s
        self.closed = 0

    def open(self):
        self.inner.open()
        return self

    def close(self):
        self.closed += 1
        self.inner.close()

    @property
    def frame_count(self):
        return self.inner.frame_count

    @property
    def ground_truth(self):
        return self.inner.ground_truth

    def __iter__(self):
        for f in self.inner:
            if self.fail_at is not None and f.index >= self.fail_at:
                raise RecordingError(f"recording truncated: no frame after {f.index - 1}")
            if f.index in self.blank:
                f = dataclasses.replace(f, color=np.full_like(f.color, 128))
            if f.index in self.zero_depth:
                f = dataclasses.replace(f, depth=np.zeros_like(f.depth))
            if self.delay_s:
                time.sleep(self.delay_s)
            yield f


class SlowPredictor:
    """The real predictor, delayed (a slow machine) or failing on a given call."""

    def __init__(self, inner, delay_s=0.0, fail_on_call=None):
        self.inner, self.delay_s, self.fail_on_call = inner, delay_s, fail_on_call
        self.class_names = inner.class_names
        self.meta = inner.meta
        self.calls = 0

    def predict(self, maps):
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise RuntimeError("simulated inference failure")
        time.sleep(self.delay_s)
        return self.inner.predict(maps)


def run_engine(engine, timeout=60.0, on_update=None):
    """Start, poll until finished or error, stop; returns (results, intervals, curves, last)."""
    results, intervals = [], []
    curves = {"micro": [], "macro": []}
    engine.start()
    t0 = time.monotonic()
    last = None
    try:
        while time.monotonic() - t0 < timeout:
            u = engine.poll()
            results += u.results
            intervals += u.intervals
            for k in curves:
                curves[k] += u.curves[k]
            last = u
            if on_update is not None:
                on_update(engine, u, results)
            if u.finished or u.error is not None:
                break
            time.sleep(0.02)
        else:
            pytest.fail("engine did not finish in time")
    finally:
        engine.stop()
    u = engine.poll()
    results += u.results
    intervals += u.intervals
    return results, intervals, curves, last


def test_engine_on_the_simulator_scores_every_scheduled_sample(predictor):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    src = sim(2.0, seed=2)
    engine = Engine(src, EngineConfig(device="cpu"), predictor=predictor)
    results, intervals, curves, last = run_engine(engine)
    n = src.frame_count
    assert n == 60
    assert engine.frame_skip == 2 and engine.k_sw == 6 and engine.backend == "cpu"
    # samples start every 2 frames, each needs the frame 6 later
    expected = list(range(0, n - 6, 2))
    assert [r.frame for r in results] == expected
    assert [r.sample for r in results] == list(range(len(expected)))
    assert last.error is None and last.finished
    st = engine.stats()
    assert st.frames_in == n
    assert st.frames_skipped == n // 2  # odd frames are not needed at frame_skip 2
    assert st.frames_in == st.frames_skipped + st.dropped["frames"] + st.frames_observed
    assert st.dropped == {"frames": 0, "source": 0, "samples": 0, "results": 0}
    scored = [r for r in results if r.score is not None]
    assert len(scored) == st.frames_analyzed
    assert st.samples_scheduled == len(results)
    assert st.samples_scheduled == st.frames_analyzed + st.samples_no_face + st.dropped["samples"]
    assert len(scored) >= 0.9 * len(results)  # the simulator's face is found
    for r in scored:
        assert 0.0 <= r.score <= 1.0
        assert r.probs.shape == (5,) and r.probs.sum() == pytest.approx(1.0, abs=1e-4)
        assert r.label == engine.class_names[int(np.argmax(r.probs))]
        assert r.maps.shape == (3, 42, 42) and r.maps.dtype == np.float32
        assert np.isfinite(r.maps).all()
        assert r.latency_ms > 0 and r.face_found
    # timestamps are those of the window's first frame
    ts = [r.timestamp for r in results]
    assert ts == sorted(ts)
    # every sample's smoothed values became final by the end (spotter.finish())
    assert [f for f, _ in curves["micro"]] == expected
    assert [f for f, _ in curves["macro"]] == expected
    for iv in intervals:
        assert 0 <= iv.onset <= iv.offset < n and iv.onset % 2 == 0
    assert not engine.running and src.ground_truth is not None


def test_no_face_gap_is_recorded_and_the_engine_recovers(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    src = FaultySource(ListSource(sim_frames), blank=range(20, 41))
    engine = Engine(src, EngineConfig(device="cpu", keep_maps=False), predictor=predictor)
    results, _, _, last = run_engine(engine)
    assert last.error is None
    by_frame = {r.frame: r for r in results}
    # windows (s, s+6) touching frames 20..40 have no face
    for s in range(14, 41, 2):
        assert by_frame[s].face_found is False and by_frame[s].score is None
        assert by_frame[s].reason == "no_face" and by_frame[s].probs is None
    # before and after the gap the face is tracked and scored
    assert all(by_frame[s].score is not None for s in (0, 2, 4, 6, 8, 10, 12))
    assert all(by_frame[s].score is not None for s in range(42, 84, 2))
    st = engine.stats()
    assert st.gaps == [(20, 40)]
    assert st.samples_no_face == len(range(14, 41, 2))
    assert src.closed >= 1


def test_empty_depth_is_counted_and_still_scored(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    src = FaultySource(ListSource(sim_frames[:60]), zero_depth=range(10, 31))
    engine = Engine(src, EngineConfig(device="cpu"), predictor=predictor)
    results, _, _, last = run_engine(engine)
    assert last.error is None
    st = engine.stats()
    assert st.frames_empty_depth == len(range(10, 31, 2))  # the even frames that were analysed
    by_frame = {r.frame: r for r in results}
    for s in (4, 10, 24, 30):  # windows with an empty-depth frame
        assert by_frame[s].depth_ok is False
        assert by_frame[s].score is not None and np.isfinite(by_frame[s].maps).all()
        assert np.all(by_frame[s].maps[2] == 0.0)  # hybrid: S_w carries no motion
        assert np.abs(by_frame[s].maps[:2]).max() > 0  # the optical flow is still there
    assert by_frame[40].depth_ok is True
    assert np.abs(by_frame[40].maps[2]).max() > 0


def test_truncated_recording_stops_with_the_error_after_flushing(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    src = FaultySource(ListSource(sim_frames), fail_at=40)
    engine = Engine(src, EngineConfig(device="cpu"), predictor=predictor)
    results, _, curves, last = run_engine(engine)
    assert isinstance(last.error, RecordingError) and last.finished
    assert "truncated" in str(last.error)
    # every window that ended before the failure was analysed and published
    assert [r.frame for r in results] == list(range(0, 40 - 6, 2))
    assert all(r.score is not None for r in results)
    assert [f for f, _ in curves["macro"]] == list(range(0, 34, 2))  # spotter finished
    assert src.closed >= 1 and not engine.running
    with pytest.raises(RecordingError):
        engine.stop(raise_error=True)


def test_worker_exception_reaches_the_caller_and_stop_joins(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    src = FaultySource(ListSource(sim_frames))
    engine = Engine(src, EngineConfig(device="cpu"), predictor=SlowPredictor(predictor,
                                                                            fail_on_call=3))
    _, _, _, last = run_engine(engine)
    assert isinstance(last.error, RuntimeError)
    assert "simulated inference failure" in str(last.error)
    assert any("inference thread" in n for n in last.error.__notes__)
    assert not engine.running and src.closed >= 1
    with pytest.raises(RuntimeError, match="simulated inference failure"):
        engine.stop(raise_error=True)


def test_live_source_drops_oldest_and_counts_every_drop(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    # a "live" source and a slow machine: capture must not wait, drops are counted
    src = FaultySource(ListSource(sim_frames), live=True)
    engine = Engine(src, EngineConfig(device="cpu", queue_size=2, max_batch=1, keep_maps=False),
                    predictor=SlowPredictor(predictor, delay_s=0.3))
    results, _, _, last = run_engine(engine)
    assert last.error is None
    st = engine.stats()
    assert st.dropped["frames"] > 0
    assert st.frames_in == st.frames_skipped + st.dropped["frames"] + st.frames_observed
    assert st.samples_scheduled == len(results)
    assert st.samples_scheduled == st.frames_analyzed + st.samples_no_face + st.dropped["samples"]
    assert st.dropped["samples"] > 0
    assert [r.frame for r in results] == list(range(0, 2 * len(results), 2))  # no holes
    assert all(r.reason == "dropped" for r in results if r.score is None)


def test_file_source_as_fast_as_possible_waits_instead_of_dropping(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    src = ListSource(sim_frames[:60])
    engine = Engine(src, EngineConfig(device="cpu", queue_size=1, keep_maps=False),
                    predictor=SlowPredictor(predictor, delay_s=0.05))
    results, _, _, _ = run_engine(engine)
    st = engine.stats()
    assert st.dropped == {"frames": 0, "source": 0, "samples": 0, "results": 0}
    assert len(results) == len(range(0, 60 - 6, 2))


def test_seek_pause_resume_and_speed_on_a_recording(predictor, clip_path):
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.sources.realsense import PlaybackSource

    src = PlaybackSource(clip_path)
    engine = Engine(src, EngineConfig(device="cpu", realtime=True, keep_maps=False),
                    predictor=predictor)
    state = {"phase": 0}
    after_reset: list = []

    def control(eng, u, results):
        if state["phase"] == 0 and u.stats.frames_in >= 8:  # 8 of 60 frames at 30 FPS
            eng.pause()
            state["phase"], state["t"] = 1, time.monotonic()
        elif state["phase"] == 1 and time.monotonic() - state["t"] > 0.4:
            state["frames_paused"] = u.stats.frames_in
            assert u.stats.paused
            time.sleep(0.3)
            state["frames_paused_later"] = eng.stats().frames_in
            eng.set_speed(2.0)
            eng.seek(31)  # while paused: the frame at 31 is read for display, still paused
            deadline = time.monotonic() + 10
            while eng.stats().position != 31 and time.monotonic() < deadline:
                time.sleep(0.01)
            state["position_paused"] = eng.stats().position
            state["display_index"] = eng.latest()[0].index
            assert eng.paused
            eng.resume()
            state["phase"] = 2
        elif state["phase"] >= 2:
            if u.reset:
                state["phase"] = 3
                after_reset.clear()
            if state["phase"] == 3:
                after_reset.extend(u.results)

    run_engine(engine, on_update=control)
    assert state["phase"] == 3
    assert state["frames_paused"] == state["frames_paused_later"]  # nothing read while paused
    assert state["position_paused"] == 31 and state["display_index"] == 31
    assert engine.speed == 2.0
    n = src.frame_count
    # after the seek the schedule restarts at frame 32 (the next multiple of frame_skip)
    assert [r.frame for r in after_reset] == list(range(32, n - 6, 2))
    with pytest.raises(ConfigError):
        engine.set_speed(0)


def test_start_closes_the_source_when_its_frame_rate_is_unusable(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine

    class LateFps(ListSource):  # like a recording: the frame rate is known once opened
        closed = 0
        open_fps = 1.0  # too slow for the release spotting lengths

        def open(self):
            self.fps = self.open_fps
            return self

        def close(self):
            self.closed += 1

    src = LateFps(sim_frames[:4], fps=None)
    engine = Engine(src, predictor=predictor)
    with pytest.raises(ConfigError, match="smoothing half-length"):
        engine.start()
    assert src.closed == 1 and engine._tracker is None
    # a failure in the warm-up closes the face tracker too
    src = LateFps(sim_frames[:4], fps=None)
    src.open_fps = 30.0
    engine = Engine(src, predictor=SlowPredictor(predictor, fail_on_call=1))
    with pytest.raises(RuntimeError, match="simulated inference failure"):
        engine.start()
    assert src.closed == 1 and engine._tracker is None


def test_seek_is_refused_by_sources_that_cannot_seek(predictor):
    from rt_sfamnet.pipeline import Engine, EngineConfig

    engine = Engine(FaultySource(sim(1.0)), EngineConfig(device="cpu"), predictor=predictor)
    with pytest.raises(SourceError, match="cannot seek"):
        engine.seek(10)


def test_intervals_are_shifted_from_samples_to_stream_frames(predictor):
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.spotting import SpottedInterval

    engine = Engine(sim(1.0), EngineConfig(device="cpu"), predictor=predictor)
    iv = SpottedInterval("micro", 10, 14, 20, "positive", 0.7, 7)
    assert engine._to_frames(iv, 0) == iv
    moved = engine._to_frames(iv, 32)
    assert (moved.onset, moved.apex, moved.offset) == (42, 46, 52)
    assert engine.spotting_config.frame_skip == 2


@pytest.fixture(scope="module")
def clip_path() -> Path:
    repo = Path(__file__).resolve().parents[1]
    for name in ("clip.db3", "clip.bag", "demo.db3"):
        p = repo / "recordings" / name
        if p.exists():
            return p
    pytest.skip("no test recording in recordings/")


@pytest.mark.gpu
def test_engine_on_cuda_keeps_frame_skip_1_and_scores(predictor):
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.predictor import Predictor

    gpu_predictor = Predictor(predictor.model, predictor.meta, device="cuda")
    src = sim(2.0)
    engine = Engine(src, EngineConfig(device="cuda"), predictor=gpu_predictor)
    results, _, _, last = run_engine(engine)
    assert last.error is None and engine.backend == "cuda"
    assert engine.frame_skip == 1 and engine.feature_config.backend == "cupy"
    assert [r.frame for r in results] == list(range(0, 60 - 6))
    assert sum(r.score is not None for r in results) >= 0.9 * len(results)


def test_engine_on_a_frame_folder_numbered_from_one(predictor, sim_frames, tmp_path):
    """A CAS(ME)^3-style folder (files 1..N): the schedule starts at frame 2 (even)."""
    import cv2

    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.sources.folder import FolderSource

    (tmp_path / "color").mkdir()
    (tmp_path / "depth").mkdir()
    for f in sim_frames[:30]:
        n = f.index + 1
        cv2.imwrite(str(tmp_path / "color" / f"{n}.jpg"), f.color[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(tmp_path / "depth" / f"{n}.png"), f.depth)
    engine = Engine(FolderSource(tmp_path), EngineConfig(device="cpu", keep_maps=False),
                    predictor=predictor)
    results, _, _, last = run_engine(engine)
    assert last.error is None and last.finished
    assert [r.frame for r in results] == list(range(2, 31 - 6, 2))
    assert sum(r.score is not None for r in results) >= 0.9 * len(results)


def test_maps_are_clamped_like_the_weights_were_trained(predictor, sim_frames):
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.weights import WeightsMeta

    meta = WeightsMeta(emotions=4, provenance={"input_clip": 0.01})
    clamped = Predictor(predictor.model, meta, device="cpu")
    engine = Engine(ListSource(sim_frames[:30]), EngineConfig(device="cpu"), predictor=clamped)
    assert engine.input_clip == 0.01
    results, _, _, _ = run_engine(engine)
    maps = np.stack([r.maps for r in results if r.maps is not None])
    assert np.abs(maps).max() == pytest.approx(0.01)  # real flows exceed 0.01 somewhere
    off = Engine(ListSource(sim_frames[:30]), EngineConfig(device="cpu", input_clip=0.0),
                 predictor=clamped)
    assert off.input_clip is None  # 0 switches the clamp off
