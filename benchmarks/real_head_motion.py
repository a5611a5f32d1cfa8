"""Benchmark: does rigid head motion of a real face make the analysis fire?

Takes the still frames of a real clip (default: frames 0-15 of
``../shared/real-faces/single_face.mp4``, before the mouth moves; ``docs/real-faces.md``),
plays them back and forth into a longer still face, and moves the whole frame with the
simulator's own head moves (:func:`rt_sfamnet.sim.nuisance.make_nuisance`: translation,
roll, yaw drawn as a horizontal compression, and scale, 0.3-1.0 s per move, about the nose
tip found by MediaPipe in the first frame; :func:`rt_sfamnet.sim.nuisance.pose_affine`).
Each version is written as a lossless PNG frame folder in a temporary directory and analysed
headless (``rt_sfamnet.analyze``: the weights chosen for an RGB-only source). The same
frames without motion are the baseline. Nothing in them is an expression, so a sensible
analysis keeps every raw score below the weights' micro threshold and spots nothing.

Usage::

    python benchmarks/real_head_motion.py [--clip FILE --frames A B] [--seeds 1 2 3]
                                          [--seconds 12] [--scale 1.0] [--weights FILE]

``--scale`` multiplies the simulator's move sizes (18 px, 6° roll, 14° yaw, 6 % scale at
640 px wide). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CLIP = REPO.parent / "shared" / "real-faces" / "single_face.mp4"


def still_frames(clip: Path, first: int, last: int) -> tuple[list[np.ndarray], float]:
    """Frames ``first..last`` (inclusive) of ``clip`` as H×W×3 uint8 RGB, and its frame rate
    (1 / median frame interval)."""
    import av

    with av.open(str(clip)) as c:
        frames, times = [], []
        for i, f in enumerate(c.decode(video=0)):
            times.append(float(f.time))
            if first <= i <= last:
                frames.append(f.to_ndarray(format="rgb24"))
    if len(frames) != last - first + 1:
        sys.exit(f"{clip} has {len(times)} frames; frames {first}..{last} were asked for")
    return frames, 1.0 / float(np.median(np.diff(times)))


def back_and_forth(frames: list[np.ndarray], n: int) -> list[np.ndarray]:
    """``n`` frames playing ``frames`` forwards, backwards, forwards... (no jump)."""
    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    return [frames[order[i % len(order)]] for i in range(n)]


def moved(frames: list[np.ndarray], seed: int, fps: float, scale: float,
          nose_xy: tuple[float, float]) -> tuple[list[np.ndarray], int]:
    """The frames moved by the simulator's head moves of ``seed``; and the number of moves."""
    import cv2

    from rt_sfamnet.sim.nuisance import make_nuisance, pose_affine

    h, w = frames[0].shape[:2]
    px = w / 640.0
    nz = make_nuisance(seed, len(frames), fps, busy=[], move_px=18.0 * scale * px,
                       move_roll_deg=6.0 * scale, move_yaw_deg=14.0 * scale,
                       move_scale=0.06 * scale)
    out = []
    for i, img in enumerate(frames):
        dx, dy, roll, yaw, grow = nz.head_pose(i)
        m = pose_affine(nose_xy, dx, dy, roll, yaw, 1.0 + grow)
        out.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE))
    return out, len(nz.moves)


def analyse(frames: list[np.ndarray], fps: float, folder: Path, weights: str | None) -> dict:
    """Write ``frames`` as ``img<k>.png`` into ``folder`` and analyse them at ``fps``."""
    import cv2

    import rt_sfamnet
    from rt_sfamnet.spotting import SpottingConfig

    folder.mkdir(parents=True)
    for k, img in enumerate(frames):
        cv2.imwrite(str(folder / f"img{k}.png"), img[:, :, ::-1])
    res = rt_sfamnet.analyze(str(folder), weights=weights, fps=fps, progress=False)
    s = res.frames["score"].to_numpy(dtype=float)
    s = s[np.isfinite(s)]
    thr = SpottingConfig(**res.summary["spotting"]).params("micro").threshold
    return {"samples": int(s.size), "micro_threshold": thr,
            "max_score": round(float(s.max()), 3) if s.size else None,
            "above_threshold": int((s >= thr).sum()),
            "events": res.events[["type", "onset", "offset", "emotion"]].to_dict("records")
            if len(res.events) else [],
            "weights": res.summary.get("weights")}


def run(clip: Path, first: int, last: int, seeds: list[int], seconds: float, scale: float,
        weights: str | None) -> dict:
    from rt_sfamnet.face import FaceTracker

    still, fps = still_frames(clip, first, last)
    with FaceTracker() as tracker:
        face = tracker.update(still[0])
    if face is None:
        sys.exit(f"no face in frame {first} of {clip}")
    base = back_and_forth(still, int(round(seconds * fps)))
    out: dict = {"clip": clip.name, "frames": [first, last], "fps": round(fps, 3),
                 "seconds": seconds, "scale": scale, "nose_xy": [round(v, 1) for v in face.nose_xy]}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out["still"] = analyse(base, fps, Path(tmp) / "still", weights)
        out["moved"] = []
        for seed in seeds:
            frames, n_moves = moved(base, seed, fps, scale, face.nose_xy)
            r = analyse(frames, fps, Path(tmp) / f"seed{seed}", weights)
            out["moved"].append({"seed": seed, "moves": n_moves, **r})
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["all_below_threshold"] = all(r["above_threshold"] == 0 and not r["events"]
                                     for r in [out["still"], *out["moved"]])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", type=Path, default=CLIP, help="a video of a real face")
    p.add_argument("--frames", type=int, nargs=2, default=(0, 15), metavar=("A", "B"),
                   help="the clip's still frames, inclusive (default 0 15)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                   help="one moved version per seed of the simulator's head moves")
    p.add_argument("--seconds", type=float, default=12.0, help="length of each version")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the move sizes")
    p.add_argument("--weights", default=None, help="weights file (default: chosen for the source)")
    args = p.parse_args(argv)
    if not args.clip.is_file():
        sys.exit(f"{args.clip} is missing (give --clip FILE --frames A B)")
    out = {"machine": {"platform": platform.platform(), "python": platform.python_version()},
           **run(args.clip, args.frames[0], args.frames[1], args.seeds, args.seconds,
                 args.scale, args.weights)}
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
