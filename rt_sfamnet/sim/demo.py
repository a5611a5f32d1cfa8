"""The demo recording and the test clip, made by the simulator from committed recipes.

- ``recordings/demo_recipe.toml`` -> ``recordings/demo.db3`` (45 s, 640×480, generated on
  first run by :func:`ensure_demo_recording`, not kept in git) with its sidecar ground truth
  ``recordings/demo.gt.csv``; the same ground truth is committed as ``recordings/demo_gt.csv``.
- ``recordings/clip_recipe.toml`` -> ``recordings/clip.db3`` (2 s, 320×240, committed) with
  ``recordings/clip.gt.csv``.

Ground truth of a simulated recording uses subject ``"sim"`` and the recording's file stem as
the video (``"demo"``, ``"clip"``), frames 0-based as the playback source numbers them.
"""

from __future__ import annotations

import os
from pathlib import Path

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.intervals import Interval, write_intervals

DEMO_NAME = "demo.db3"
CLIP_NAME = "clip.db3"
DEMO_RECIPE = "demo_recipe.toml"
CLIP_RECIPE = "clip_recipe.toml"
DEMO_GT = "demo_gt.csv"


def recordings_dir() -> Path:
    """The folder of the recipes: the checkout's ``recordings/``, or a wheel's package data
    (:func:`rt_sfamnet.resources.data_dir`)."""
    from rt_sfamnet.resources import data_dir

    return data_dir("recordings")


def demo_dir() -> Path:
    """Where the generated demo recording goes: the checkout's ``recordings/``, or the
    user's cache folder (``~/.cache/rt-sfamnet`` on Linux) in a wheel install."""
    from rt_sfamnet.resources import cache_dir, is_packaged

    return cache_dir() if is_packaged("recordings") else recordings_dir()


def recipe_intervals(recipe_path: str | Path, video: str) -> list[Interval]:
    """Ground truth of a recipe (subject ``"sim"``, the given video name, 0-based frames)."""
    from rt_sfamnet.sim.recipe import load_recipe, script_from_recipe
    from rt_sfamnet.sim.script import script_intervals

    return script_intervals(script_from_recipe(load_recipe(recipe_path)), "sim", video)


def write_sim_recording(path: str | Path, recipe: str | Path | None = None, seed: int = 0,
                        identity: int | str | None = None, seconds: float = 20.0,
                        width: int = 640, height: int = 480, fps: float = 30.0) -> int:
    """Write a simulated RealSense recording (``.db3``) and its sidecar ground truth.

    The frames come from ``recipe`` (a TOML file, see :mod:`rt_sfamnet.sim.recipe`) or from a
    random script for ``seed``; they are written by
    :func:`rt_sfamnet.sources.realsense.write_recording` (a real librealsense recording that
    :class:`~rt_sfamnet.sources.realsense.PlaybackSource` plays back), and the ground truth
    goes to :func:`~rt_sfamnet.sources.realsense.ground_truth_path` of ``path``. Both files
    are written to temporary names first and renamed when complete. Returns the frame count.
    """
    from rt_sfamnet.sim import make_renderer
    from rt_sfamnet.sim.script import script_intervals
    from rt_sfamnet.sources.realsense import ground_truth_path, write_recording

    out = Path(path)
    if out.suffix.lower() != ".db3":
        raise RecordingError(f"a simulated recording must be a .db3 file, found {out.name!r}")
    if recipe is not None:
        from rt_sfamnet.sim.recipe import load_recipe, script_from_recipe

        rc = load_recipe(recipe)
        script = script_from_recipe(rc)
        r = make_renderer(rc.seed, rc.identity, rc.width, rc.height, rc.fps, script=script)
    else:
        r = make_renderer(seed, identity, width, height, fps, seconds)
    out.parent.mkdir(parents=True, exist_ok=True)
    gt = ground_truth_path(out)
    gt_tmp = gt.with_name(gt.name + ".part")
    try:
        write_intervals(gt_tmp, script_intervals(r.script, "sim", out.stem))
        n = write_recording(r.frames(), out, fps=r.script.fps)
        os.replace(gt_tmp, gt)
    finally:  # a failed or interrupted recording leaves neither file behind
        gt_tmp.unlink(missing_ok=True)
    return n


def ensure_demo_recording(path: str | Path | None = None) -> Path:
    """Return the demo recording, generating it from the committed recipe if it is missing.

    Args:
        path: where the demo lives (default: ``demo.db3`` in :func:`demo_dir`). The recipe
            is ``demo_recipe.toml`` beside it, or the installed one (:func:`recordings_dir`).

    Generation takes about a minute (1350 frames); the recording is written to a temporary
    name and renamed, so an interrupted run never leaves a half file. The sidecar ground
    truth (``demo.gt.csv``) is written next to it.
    """
    from rt_sfamnet.sources.realsense import ground_truth_path

    target = Path(path) if path is not None else demo_dir() / DEMO_NAME
    recipe = target.parent / DEMO_RECIPE
    if not recipe.is_file():
        recipe = recordings_dir() / DEMO_RECIPE
    if not recipe.is_file():
        raise RecordingError(f"the demo recipe {DEMO_RECIPE} is missing (looked in {target.parent} "
                             f"and {recordings_dir()})")
    if target.is_file() and ground_truth_path(target).is_file():
        return target
    import fcntl
    import sys

    target.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time: a second process waits for the first and then reuses its file.
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file() and ground_truth_path(target).is_file():
            return target
        print(f"rt-sfamnet: generating the demo recording {target} from {recipe.name} "
              "(first run only, about a minute)", file=sys.stderr, flush=True)
        write_sim_recording(target, recipe)
    return target


def make_clip(path: str | Path | None = None) -> Path:
    """(Re)generate the short test clip ``recordings/clip.db3`` and ``clip.gt.csv``."""
    target = Path(path) if path is not None else recordings_dir() / CLIP_NAME
    write_sim_recording(target, recordings_dir() / CLIP_RECIPE)
    return target


def write_demo_ground_truth(path: str | Path | None = None) -> Path:
    """(Re)write the committed ``recordings/demo_gt.csv`` from the demo recipe."""
    target = Path(path) if path is not None else recordings_dir() / DEMO_GT
    write_intervals(target, recipe_intervals(recordings_dir() / DEMO_RECIPE, "demo"))
    return target


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    print(make_clip())
    print(write_demo_ground_truth())
