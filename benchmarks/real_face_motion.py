"""Benchmark: a real face moved by the simulator: head moves, and expressions.

Takes the still frames of a real clip (default: frames 0-15 of
``../shared/real-faces/single_face.mp4``, before the mouth moves; ``docs/real-faces.md``) and
plays them back and forth into a longer still face. Then, on those real pixels:

- **head moves** (``--what head``): the whole frame is moved by the simulator's own head
  moves (:func:`rt_sfamnet.sim.nuisance.make_nuisance`: translation, roll, yaw drawn as a
  horizontal compression, and scale, 0.3-1.0 s per move, about the nose tip found by
  MediaPipe in the first frame; :func:`rt_sfamnet.sim.nuisance.pose_affine`). Nothing in
  them is an expression: a sensible analysis keeps every raw score below the weights' micro
  threshold and spots nothing. The same frames without motion are the baseline.
- **expressions** (``--what expressions``): the face is warped by the simulator's
  action-unit fields built on the real face's MediaPipe landmarks
  (:func:`rt_sfamnet.sim.aus.face_fields`, the renderer's own fields), one clip per
  prototype (a smile, laughter, sadness, crying, surprise, *others*), onset 0.4 s, hold
  1 s, offset 0.5 s, amplitude ``--amplitude`` inter-ocular distances. Real skin and
  identity, synthetic motion: it checks that the emotion read from a real face follows
  the motion, e.g. more positive while laughing than while crying and the reverse for
  negative. Per clip: the mean emotion probabilities over the expression
  (:func:`rt_sfamnet.realfaces.segment_report`) and the events.

Each version is written as a lossless PNG frame folder in a temporary directory and analysed
headless (``rt_sfamnet.analyze``: the weights chosen for an RGB-only source).

Usage::

    python benchmarks/real_face_motion.py [--what head expressions] [--clip FILE --frames A B]
                                          [--seeds 1 2 3] [--seconds 12] [--scale 1.0]
                                          [--amplitude 0.1] [--weights FILE]

``--scale`` multiplies the simulator's head-move sizes (18 px, 6° roll, 14° yaw, 6 % scale
at 640 px wide). Prints one JSON object.
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


def analyse(frames: list[np.ndarray], fps: float, folder: Path, weights: str | None
            ) -> tuple[dict, object]:
    """Write ``frames`` as ``img<k>.png`` into ``folder`` and analyse them at ``fps``:
    (a JSON-able summary, the :class:`rt_sfamnet.Analysis`)."""
    import cv2

    import rt_sfamnet
    from rt_sfamnet.realfaces import micro_threshold

    folder.mkdir(parents=True)
    for k, img in enumerate(frames):
        cv2.imwrite(str(folder / f"img{k}.png"), img[:, :, ::-1])
    res = rt_sfamnet.analyze(str(folder), weights=weights, fps=fps, progress=False)
    s = res.frames["score"].to_numpy(dtype=float)
    s = s[np.isfinite(s)]
    thr = micro_threshold(res.summary)
    return {"samples": int(s.size), "micro_threshold": thr,
            "max_score": round(float(s.max()), 3) if s.size else None,
            "above_threshold": int((s >= thr).sum()),
            "events": res.events[["type", "onset", "offset", "emotion"]].to_dict("records")
            if len(res.events) else [],
            "weights": res.summary.get("weights")}, res


#: The expressions drawn on the real face: (name, the segment's words for
#: :func:`rt_sfamnet.realfaces.segment_kind`, action-unit weights; the simulator's
#: prototypes, :data:`rt_sfamnet.sim.aus.REALISTIC_PROTOTYPES`).
EXPRESSIONS = (
    ("smile", "smile", {"6": 0.6, "12": 1.0}),
    ("laughter", "laugh", {"6": 0.8, "12": 1.0, "25": 0.8, "26": 0.4}),
    ("sadness", "sad", {"1": 0.9, "4": 0.55, "15": 1.0}),
    ("crying", "crying", {"1": 0.9, "4": 0.7, "15": 1.0, "20": 0.4, "25": 0.8, "26": 0.4}),
    ("surprise", "surprise", {"1": 1.0, "2": 1.0, "5": 0.6, "26": 0.8}),
    ("others", "others (lip press)", {"14": 1.0, "24": 0.7}),
)


def expression_curve(n: int, fps: float, onset_s: float, rise_s: float, hold_s: float,
                     fall_s: float) -> np.ndarray:
    """(n,) intensity in [0, 1]: smooth rise, hold, smooth fall (the simulator's smoothstep)."""
    from rt_sfamnet.sim.nuisance import smoothstep

    t = np.arange(n) / fps
    up = np.array([smoothstep((x - onset_s) / rise_s) for x in t])
    down = np.array([smoothstep((x - onset_s - rise_s - hold_s) / fall_s) for x in t])
    return up - down


def expressed(frames: list[np.ndarray], landmarks: np.ndarray, aus: dict[str, float],
              amplitude_px: float, curve: np.ndarray) -> list[np.ndarray]:
    """``frames`` warped by the action units ``aus`` at ``curve[i] * amplitude_px`` (the largest
    displacement), on the fields the simulator's renderer uses for a face with ``landmarks``
    (468×3 frame pixels): a pixel at x shows the skin that was at x − d(x)."""
    import cv2

    from rt_sfamnet.sim import aus as A

    h, w = frames[0].shape[:2]
    (x0, y0, x1, y1), unit, _blink = A.face_fields(landmarks, (h, w))
    d = A.combine(unit, aus, amplitude_px).d
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    out = []
    for img, a in zip(frames, curve, strict=True):
        img = img.copy()
        if a > 0:
            mx = gx - np.float32(a) * d[..., 0]
            my = gy - np.float32(a) * d[..., 1]
            img[y0:y1, x0:x1] = cv2.remap(img, mx, my, cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REPLICATE)
        out.append(img)
    return out


def head_moves(base, fps, nose_xy, seeds, scale, weights, tmp: Path) -> dict:
    still, _ = analyse(base, fps, tmp / "still", weights)
    out = {"scale": scale, "still": still, "moved": []}
    for seed in seeds:
        frames, n_moves = moved(base, seed, fps, scale, nose_xy)
        r, _ = analyse(frames, fps, tmp / f"seed{seed}", weights)
        out["moved"].append({"seed": seed, "moves": n_moves, **r})
    out["all_below_threshold"] = all(r["above_threshold"] == 0 and not r["events"]
                                     for r in [out["still"], *out["moved"]])
    return out


def expressions(base, fps, landmarks, amplitude, weights, tmp: Path,
                names: tuple[str, ...] | None = None) -> dict:
    from rt_sfamnet.realfaces import Segment, segment_checks, segment_report
    from rt_sfamnet.sim.landmarks import interocular

    onset_s, rise_s, hold_s, fall_s = 1.0, 0.4, 1.0, 0.5
    n = int(round((onset_s + rise_s + hold_s + fall_s + 1.0) * fps))
    frames = back_and_forth(base, n)
    curve = expression_curve(n, fps, onset_s, rise_s, hold_s, fall_s)
    moving = np.flatnonzero(curve > 0)
    amp = amplitude * interocular(landmarks)
    out = {"amplitude_iod": amplitude, "amplitude_px": round(float(amp), 2),
           "expression_frames": [int(moving[0]), int(moving[-1])], "clips": []}
    for name, what, aus in EXPRESSIONS:
        if names is not None and name not in names:
            continue
        r, res = analyse(expressed(frames, landmarks, aus, amp, curve), fps, tmp / name, weights)
        seg = Segment(name, int(moving[0]), int(moving[-1]), what)
        k_sw = int(res.summary["k_sw"])
        emos = tuple(c for c in res.summary["class_names"] if c != "neutral")
        rep = segment_report(res.frames, res.events, seg, k_sw, emos)
        out["clips"].append({"expression": name, "aus": aus, "kind": seg.kind,
                             "max_score": r["max_score"], "events": r["events"],
                             "mean_probs": rep["mean_probs"],
                             "checks": segment_checks(rep, r["micro_threshold"])})
    by = {c["expression"]: c["mean_probs"] for c in out["clips"]}
    if not {"laughter", "crying"} <= set(by):
        return out
    out["follows_the_face"] = {
        "more positive while laughing than while crying":
            by["laughter"]["positive"] > by["crying"]["positive"],
        "more negative while crying than while laughing":
            by["crying"]["negative"] > by["laughter"]["negative"],
    }
    return out


def run(clip: Path, first: int, last: int, what: list[str], seeds: list[int], seconds: float,
        scale: float, amplitude: float, weights: str | None) -> dict:
    from rt_sfamnet.face import FaceTracker

    still, fps = still_frames(clip, first, last)
    with FaceTracker() as tracker:
        face = tracker.update(still[0])
    if face is None:
        sys.exit(f"no face in frame {first} of {clip}")
    out: dict = {"clip": clip.name, "frames": [first, last], "fps": round(fps, 3),
                 "nose_xy": [round(v, 1) for v in face.nose_xy]}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if "head" in what:
            base = back_and_forth(still, int(round(seconds * fps)))
            out["head"] = {"seconds": seconds, **head_moves(base, fps, face.nose_xy, seeds,
                                                              scale, weights, Path(tmp) / "h")}
        if "expressions" in what:
            out["expressions"] = expressions(still, fps, face.landmarks, amplitude, weights,
                                             Path(tmp) / "e")
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--what", nargs="+", choices=("head", "expressions"),
                   default=["head", "expressions"], help="which part(s) to run")
    p.add_argument("--clip", type=Path, default=CLIP, help="a video of a real face")
    p.add_argument("--frames", type=int, nargs=2, default=(0, 15), metavar=("A", "B"),
                   help="the clip's still frames, inclusive (default 0 15)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                   help="one moved version per seed of the simulator's head moves")
    p.add_argument("--seconds", type=float, default=12.0, help="length of each moved version")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the head-move sizes")
    p.add_argument("--amplitude", type=float, default=0.1,
                   help="largest expression displacement, in inter-ocular distances")
    p.add_argument("--weights", default=None, help="weights file (default: chosen for the source)")
    args = p.parse_args(argv)
    if not args.clip.is_file():
        sys.exit(f"{args.clip} is missing (give --clip FILE --frames A B)")
    out = {"machine": {"platform": platform.platform(), "python": platform.python_version()},
           **run(args.clip, args.frames[0], args.frames[1], args.what, args.seeds, args.seconds,
                 args.scale, args.amplitude, args.weights)}
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
