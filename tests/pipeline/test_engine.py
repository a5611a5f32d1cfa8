"""The real-time engine: threads, queues, drops, faults, control (rt_sfamnet.pipeline.engine)."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.errors import ConfigError, RecordingError, SourceError
from tests.pipeline.helpers import FaultySource, ListSource, SlowPredictor, run_engine, sim


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
    for r in scored:  # the score is the network's output on the sample's own maps
        assert r.score == pytest.approx(float(predictor.predict(r.maps[None])[0][0]), abs=1e-5)
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
        # driven by the engine's updates alone: no sleeps, no wall-clock thresholds
        if state["phase"] == 0 and u.stats.frames_in >= 8:  # 8 of 60 frames at 30 FPS
            eng.pause()
            state["frames_at_pause"] = eng.stats().frames_in
            state["phase"], state["same"], state["seen"] = 1, 0, -1
        elif state["phase"] == 1:  # until frames_in holds still over 5 updates in a row
            n_in = eng.stats().frames_in
            state["same"] = state["same"] + 1 if n_in == state["seen"] else 0
            state["seen"] = n_in
            if state["same"] >= 5:
                assert u.stats.paused
                state["frames_paused"] = n_in
                eng.set_speed(2.0)
                eng.seek(31)  # while paused: the frame at 31 is read for display, still paused
                state["phase"] = 1.5
        elif state["phase"] == 1.5:
            if u.reset:  # the seek's reset may come before the displayed frame
                state["reset"] = True
                after_reset.clear()
            if state.get("reset"):
                after_reset.extend(u.results)
            if eng.stats().position == 31:
                state["frames_after_seek"] = eng.stats().frames_in
                state["display_index"] = eng.latest()[0].index
                assert eng.paused
                eng.resume()
                state["phase"] = 3 if state.get("reset") else 2
        elif state["phase"] >= 2:
            if u.reset:
                state["phase"] = 3
                after_reset.clear()
            if state["phase"] == 3:
                after_reset.extend(u.results)

    run_engine(engine, on_update=control)
    assert state["phase"] == 3
    # at most the frame in flight when pause() returned; then only frame 31, for display
    assert state["frames_paused"] - state["frames_at_pause"] in (0, 1)
    assert state["frames_after_seek"] == state["frames_paused"] + 1
    assert state["display_index"] == 31
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
    from rt_sfamnet.pipeline.stages import SpotterStage
    from rt_sfamnet.spotting import SpottedInterval

    engine = Engine(sim(1.0), EngineConfig(device="cpu"), predictor=predictor)
    assert engine.spotting_config.frame_skip == 2
    stage = SpotterStage(engine.spotting_config)
    iv = SpottedInterval("micro", 10, 14, 20, "positive", 0.7, 7)
    assert stage._to_frames(iv) == iv
    stage.reset(32)
    moved = stage._to_frames(iv)
    assert (moved.onset, moved.apex, moved.offset) == (42, 46, 52)


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
    """A CAS(ME)^3-style folder (files 1..N are frames 0..N-1): the schedule starts at 0."""
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
    assert [r.frame for r in results] == list(range(0, 30 - 6, 2))
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


def test_realtime_pacing_follows_the_frames_own_timestamps(predictor, sim_frames, monkeypatch):
    """A variable-rate file is paced by each frame's timestamp, not by index / fps."""
    import dataclasses

    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.pipeline import engine as engine_mod

    calls: list[tuple[str, float]] = []

    class RecordingPacer(engine_mod.Pacer):
        def wait(self, index):
            calls.append(("index", float(index)))

        def wait_time(self, t_s):
            calls.append(("time", float(t_s)))

    monkeypatch.setattr(engine_mod, "Pacer", RecordingPacer)
    gaps = [0.015, 0.042, 0.033] * 6  # the 15-42 ms gaps of a variable-rate phone video
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    frames = [dataclasses.replace(f, timestamp=float(t))
              for f, t in zip(sim_frames[: len(times)], times, strict=True)]
    engine = Engine(ListSource(frames), EngineConfig(device="cpu", realtime=True,
                                                     keep_maps=False), predictor=predictor)
    run_engine(engine)
    assert calls == [("time", float(t)) for t in times]
