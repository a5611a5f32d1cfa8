"""Frames decoded only when a stage touches their pixels: LazyRGBDFrame, the rosbags
backend, and a headless analysis that decodes exactly the frames its schedule uses."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.frames import Intrinsics, LazyRGBDFrame, RGBDFrame
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.realsense import PlaybackSource

CLIP = Path(__file__).resolve().parents[3] / "recordings" / "clip.db3"


def test_lazy_frame_decodes_once_whichever_thread_asks_first():
    calls = []
    gate = threading.Event()

    def load():
        calls.append(1)
        gate.wait(5)
        return np.full((4, 5, 3), 7, np.uint8), np.full((4, 5), 900, np.uint16)

    f = LazyRGBDFrame(load, (4, 5), 1.5, 3, Intrinsics.from_fov(5, 4), {"a": 1})
    assert isinstance(f, RGBDFrame) and f.shape == (4, 5) and not f.decoded
    assert (f.index, f.timestamp, f.meta) == (3, 1.5, {"a": 1})  # no decoding for these
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(int(f.depth[0, 0])))
               for _ in range(6)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert calls == [1] and seen == [900] * 6 and f.decoded and f.color[0, 0, 0] == 7
    g = pickle.loads(pickle.dumps(f))  # travels as the plain frame it decodes to
    assert type(g) is RGBDFrame and np.array_equal(g.depth, f.depth) and g.meta == f.meta


def test_lazy_frame_checks_what_it_decodes():
    bad = LazyRGBDFrame(lambda: (np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), np.int32)),
                        (4, 5), 0.0, 0, Intrinsics.from_fov(5, 4))
    with pytest.raises(ValueError, match="depth must be H×W uint16"):
        _ = bad.color
    other = LazyRGBDFrame(lambda: (np.zeros((4, 6, 3), np.uint8), np.zeros((4, 6), np.uint16)),
                          (4, 5), 0.0, 0, Intrinsics.from_fov(5, 4))
    with pytest.raises(ValueError, match=r"decoded frame is \(4, 6\), expected \(4, 5\)"):
        _ = other.depth


def test_rosbags_frames_are_decoded_on_first_touch_after_close_too():
    with PlaybackSource(CLIP, backend="rosbags") as src:
        frames = list(src)
    assert len(frames) == 60 and not any(f.decoded for f in frames)
    assert src.frame_count == 60 and src.intrinsics == frames[0].intrinsics  # after close too
    assert frames[7].shape == (240, 320) and not frames[7].decoded
    ref = frames[7].color.copy()  # decoded now, from the file's bytes: no open file needed
    assert frames[7].decoded and frames[7].depth.dtype == np.uint16 and not frames[8].decoded
    with PlaybackSource(CLIP, backend="rosbags") as src:
        src.seek(7)
        assert np.array_equal(next(iter(src)).color, ref)


class _Keep(Source):
    """Passes a source's frames on and keeps them (to look at their ``decoded`` flag)."""

    def __init__(self, inner: Source) -> None:
        self.inner, self.kept = inner, []
        self.name, self.seekable = inner.name, inner.seekable

    def open(self):
        self.inner.open()
        self.fps = self.inner.fps
        return self

    def close(self):
        self.inner.close()

    def __iter__(self):
        for f in self.inner:
            self.kept.append(f)
            yield f

    @property
    def frame_count(self):
        return self.inner.frame_count


@pytest.mark.slow
def test_headless_analysis_decodes_only_the_frames_of_scheduled_windows():
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.weights import WeightsMeta
    from tests.pipeline.helpers import run_engine

    torch.manual_seed(0)
    predictor = Predictor(SFAMNet(4), WeightsMeta(emotions=4), device="cpu", threads=1)
    src = _Keep(PlaybackSource(CLIP, backend="rosbags"))
    engine = Engine(src, EngineConfig(device="cpu", frame_skip=2, keep_maps=False),
                    predictor=predictor)
    results = run_engine(engine, timeout=300)[0]
    assert len(src.kept) == 60 and results
    assert engine.frame_skip == 2 and engine.k_sw == 6
    # windows [2j, 2j + 6] start and end on even frames: the odd ones are never decoded
    assert [f.index for f in src.kept if f.decoded] == list(range(0, 60, 2))
