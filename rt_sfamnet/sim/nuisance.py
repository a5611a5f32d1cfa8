"""What a person in front of a camera does besides expressions: all of it unlabelled.

A network trained only on expressions over a still, clean face fires on anything that moves.
Real clips are full of motion that is not an expression, so a realistic simulated video adds
(:func:`make_nuisance`, drawn from its own random stream so that scripts without it stay
exactly as they were):

- **head moves** (:class:`HeadMove`): the head turns to a new pose and stays there, at real
  speeds (0.3-1.0 s per move): translation up to ``move_px`` pixels of a 640-wide frame, roll
  up to ``move_roll_deg``, yaw up to ``move_yaw_deg`` (drawn as a horizontal compression
  about the nose, the affine part of a small turn) and scale changes (leaning in and out);
- **talking** (:class:`Talk`): jaw drop (AU26) with the upper lip (AU10) opening and closing
  at 3-5 syllables a second for 1-3 s;
- **a hand over the face** (:class:`Hand`): a skin-coloured hand slides over the lower face
  and leaves again (the face may be lost: those samples are ``no_face`` gaps);
- **lighting drift** (:class:`Lighting`): a slow global gain change and a moving left-right
  gradient (a cloud, a screen, a lamp);
- **sensor noise and compression**: per-video noise level and JPEG quality
  (``colour_noise``, ``jpeg_quality``), applied by the renderer.

All lengths are pixels of a 640-wide frame (scaled by the renderer), times are frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Hand", "HeadMove", "Lighting", "Nuisance", "Talk", "make_nuisance", "pose_affine",
           "smoothstep"]


def smoothstep(x: float) -> float:
    """0 below 0, 1 above 1, ``3x² − 2x³`` between (zero speed at both ends)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


def pose_affine(center_xy: tuple[float, float], dx: float, dy: float, roll_deg: float,
                yaw_deg: float, scale: float) -> np.ndarray:
    """The 2×3 affine of a head pose about ``center_xy`` (the nose tip), float64.

    ``dx``, ``dy`` translate (pixels), ``roll_deg`` rotates in the image plane, ``yaw_deg`` is
    drawn as a horizontal compression by ``cos(yaw)`` (the affine part of a small turn) and
    ``scale`` scales; maps template pixels to frame pixels, for ``cv2.warpAffine``.
    """
    c = scale * math.cos(math.radians(roll_deg))
    sn = scale * math.sin(math.radians(roll_deg))
    cy = math.cos(math.radians(yaw_deg))
    nx, ny = center_xy
    m = np.array([[c * cy, -sn, 0.0], [sn * cy, c, 0.0]])
    m[:, 2] = np.array([nx + dx, ny + dy]) - m[:, :2] @ np.array([nx, ny])
    return m


@dataclass(frozen=True)
class HeadMove:
    """The head moves from the previous pose to ``pose`` between frames ``start`` and ``end``.

    ``pose`` = (dx px, dy px, roll degrees, yaw degrees, scale − 1), offsets from the
    script's slow drift.
    """

    start: int
    end: int
    pose: tuple[float, float, float, float, float]


@dataclass(frozen=True)
class Talk:
    """Speech between ``start`` and ``end``: the mouth opens ``hz`` times a second by up to
    ``amplitude_px``."""

    start: int
    end: int
    amplitude_px: float
    hz: float
    phase: float = 0.0

    def opening(self, frame: int, fps: float) -> float:
        """Mouth opening in [0, 1] at ``frame`` (0 outside the talk, eased in and out)."""
        if frame <= self.start or frame >= self.end:
            return 0.0
        t = (frame - self.start) / fps
        env = min(1.0, (frame - self.start) / (0.15 * fps), (self.end - frame) / (0.15 * fps))
        return env * 0.5 * (1.0 - math.cos(2.0 * math.pi * self.hz * t + self.phase))


@dataclass(frozen=True)
class Hand:
    """A hand enters from ``side`` (-1 left, +1 right of the image), covers the lower face
    between ``start`` and ``end`` and leaves; ``cover`` is how far past the nose it reaches,
    in inter-ocular distances."""

    start: int
    end: int
    side: int
    cover: float
    tone: tuple[float, float, float]

    def position(self, frame: int) -> float:
        """0 (outside the frame) .. 1 (fully in) at ``frame``."""
        if frame <= self.start or frame >= self.end:
            return 0.0
        n = self.end - self.start
        ramp = max(1.0, 0.25 * n)
        return smoothstep(min((frame - self.start) / ramp, (self.end - frame) / ramp))


@dataclass(frozen=True)
class Lighting:
    """Global gain ``1 + gain·sin(2πt/period + phase)`` times a left-right gradient
    ``1 + gradient·sin(2πt/(1.7 period) + phase2)·(x − centre)/width``."""

    gain: float = 0.0
    gradient: float = 0.0
    period_s: float = 8.0
    phase: float = 0.0
    phase2: float = 0.0

    def factors(self, t: float) -> tuple[float, float]:
        """(global gain, gradient slope per frame width) at ``t`` seconds."""
        g = 1.0 + self.gain * math.sin(2.0 * math.pi * t / self.period_s + self.phase)
        s = self.gradient * math.sin(2.0 * math.pi * t / (1.7 * self.period_s) + self.phase2)
        return g, s


@dataclass
class Nuisance:
    """The unlabelled events of one simulated video (see the module docstring)."""

    moves: list[HeadMove] = field(default_factory=list)
    talks: list[Talk] = field(default_factory=list)
    hands: list[Hand] = field(default_factory=list)
    lighting: Lighting = field(default_factory=Lighting)
    colour_noise: float | None = None
    jpeg_quality: int | None = None

    def head_pose(self, frame: int) -> tuple[float, float, float, float, float]:
        """(dx px, dy px, roll deg, yaw deg, scale − 1) of the head moves at ``frame``."""
        cur = (0.0, 0.0, 0.0, 0.0, 0.0)
        for m in self.moves:
            if frame <= m.start:
                break
            a = smoothstep((frame - m.start) / max(1, m.end - m.start))
            cur = tuple(c + a * (p - c) for c, p in zip(cur, m.pose, strict=True))
            if frame < m.end:
                break
        return cur  # type: ignore[return-value]

    def talking(self, frame: int, fps: float) -> float:
        return max((t.opening(frame, fps) for t in self.talks), default=0.0)

    def busy(self) -> list[tuple[int, int]]:
        """Spans (frames) of every event, for placing other events."""
        return ([(m.start, m.end) for m in self.moves] + [(t.start, t.end) for t in self.talks]
                + [(h.start, h.end) for h in self.hands])


def _free_spans(rng: np.random.Generator, n_frames: int, fps: float,
                busy: list[tuple[int, int]], length_s: tuple[float, float], every_s: float,
                clearance_s: float) -> list[tuple[int, int]]:
    """Spans of ``length_s`` seconds about every ``every_s`` seconds, ``clearance_s`` away
    from ``busy`` (the labelled expressions and earlier events)."""
    out: list[tuple[int, int]] = []
    clear = clearance_s * fps
    t = rng.uniform(0.3, 1.0) * every_s * fps
    while t < n_frames - 2:
        start = int(t)
        end = start + max(2, int(round(rng.uniform(*length_s) * fps)))
        if end >= n_frames - 1:
            break
        spans = busy + out
        if all(end + clear < a or start - clear > b for a, b in spans):
            out.append((start, end))
            t = end + rng.uniform(0.5, 1.5) * every_s * fps
        else:
            t += 0.2 * fps
    return out


def make_nuisance(seed: int, n_frames: int, fps: float, busy: list[tuple[int, int]],
                  move_px: float = 18.0, move_roll_deg: float = 6.0,
                  move_yaw_deg: float = 14.0, move_scale: float = 0.06) -> Nuisance:
    """Random, deterministic unlabelled events for a video of ``n_frames`` at ``fps``.

    ``busy`` are the labelled expressions' (onset, offset) spans: events keep 0.3 s away from
    them, so every positive training sample stays an expression alone. Head moves take
    0.3-1.0 s (a real head turn peaks at 50-200 °/s), talking 1-3 s, a hand 1-2.5 s.
    """
    rng = np.random.default_rng([int(seed), 4321])
    taken = list(busy)
    hands = [Hand(a, b, int(rng.choice([-1, 1])), float(rng.uniform(0.2, 1.2)),
                  (float(rng.uniform(0.75, 1.05)), float(rng.uniform(0.6, 0.85)),
                   float(rng.uniform(0.5, 0.75))))
             for a, b in _free_spans(rng, n_frames, fps, taken, (1.0, 2.5), 12.0, 0.25)]
    taken += [(h.start, h.end) for h in hands]
    talks = [Talk(a, b, float(rng.uniform(1.5, 4.0)), float(rng.uniform(3.0, 5.0)),
                  float(rng.uniform(0, 2 * np.pi)))
             for a, b in _free_spans(rng, n_frames, fps, taken, (1.0, 3.0), 6.0, 0.25)]
    taken += [(t.start, t.end) for t in talks]
    moves: list[HeadMove] = []
    for a, b in _free_spans(rng, n_frames, fps, taken, (0.3, 1.0), 2.0, 0.25):
        pose = (float(rng.uniform(-1, 1) * move_px), float(rng.uniform(-0.6, 0.6) * move_px),
                float(rng.uniform(-1, 1) * move_roll_deg), float(rng.uniform(-1, 1) * move_yaw_deg),
                float(rng.uniform(-1, 1) * move_scale))
        moves.append(HeadMove(a, b, pose))
    light = Lighting(gain=float(rng.uniform(0.05, 0.2)), gradient=float(rng.uniform(0.0, 0.3)),
                     period_s=float(rng.uniform(4.0, 12.0)), phase=float(rng.uniform(0, 6.28)),
                     phase2=float(rng.uniform(0, 6.28)))
    return Nuisance(moves, talks, hands, light, colour_noise=float(rng.uniform(1.5, 4.0)),
                    jpeg_quality=int(rng.integers(40, 86)))


# ---------------------------------------------------------------------------- drawing


def hand_layer(shape: tuple[int, int], nose_xy: tuple[float, float], iod: float, hand: Hand,
               amount: float, face_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hand at ``amount`` (0 out .. 1 in): (alpha H×W float32 in [0, 1], colour H×W×3
    float32 RGB 0-255, depth H×W float32 mm). A rounded palm with four finger bands,
    ``face_mm − 120`` millimetres from the camera."""
    import cv2  # noqa: PLC0415

    h, w = shape
    alpha = np.zeros((h, w), np.float32)
    if amount <= 0:
        return alpha, np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    nx, ny = nose_xy
    # fully in: the palm's inner edge is `cover` iod past the nose; out: past the frame edge
    edge_in = nx - hand.side * hand.cover * iod
    edge_out = (-0.2 * w) if hand.side < 0 else (1.2 * w)
    edge = edge_out + amount * (edge_in - edge_out)
    palm_w, palm_h = 2.6 * iod, 2.2 * iod
    cx = edge + hand.side * palm_w / 2
    cy = ny + 0.9 * iod
    cv2.ellipse(alpha, (int(cx), int(cy)), (int(palm_w / 2), int(palm_h / 2)), 0, 0, 360, 1.0,
                -1)
    for k in range(4):  # fingers point towards the face
        fy = cy - palm_h / 2 + (k + 0.5) * palm_h / 4
        x0 = int(cx - hand.side * palm_w * 0.3)
        x1 = int(x0 - hand.side * 1.3 * iod * (0.85 + 0.1 * (k % 2)))
        cv2.line(alpha, (x0, int(fy)), (x1, int(fy)), 1.0, max(2, int(0.32 * iod)))
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.8, 0.04 * iod))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 0.85 + 0.15 * np.cos((xx - cx) / (palm_w + 1e-3) * 2.0) * np.cos((yy - cy) / (palm_h + 1e-3))
    tone = np.array(hand.tone, np.float32) * 235.0
    colour = shade[..., None] * tone[None, None, :]
    depth = np.full((h, w), face_mm - 120.0, np.float32)
    return alpha, colour, depth
