"""Expression scripts: what the simulated face does, frame by frame.

A :class:`Script` holds the labelled expressions (:class:`Expression`), the unlabelled blinks
(:class:`Blink`) and the head motion (:class:`HeadMotion`) of one simulated video. All times
are frames at the script's ``fps`` (0-based); intensities rise from 0 at ``onset`` to 1 at
``apex``, stay at 1 until ``hold_end`` and fall back to 0 at ``offset``, so the skin moves
exactly on frames ``onset + 1 .. offset - 1``.

Timing rules (CAS(ME)^3 part A):

- micro-expressions: onset -> apex 0.07-0.25 s, onset -> offset under 0.5 s, skin moves
  0.5-2 px at 640×480 (amplitude is given in pixels of a 640-wide frame);
- macro-expressions: onset -> offset 0.5-4 s, several pixels;
- blinks (AU45): 100-150 ms, full lid closure, not labelled.

Scripts come from :func:`generate_script` (random but deterministic for a seed) or from a
recipe TOML file (:func:`script_from_recipe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rt_sfamnet.emotions import EMOTIONS7, normalise_emotion
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.sim.aus import AU_HANDLES, EMOTION_PROTOTYPES, REALISTIC_PROTOTYPES
from rt_sfamnet.sim.nuisance import Nuisance, make_nuisance

MICRO_ONSET_APEX_S = (0.07, 0.25)
MICRO_MAX_S = 0.5
MICRO_AMPLITUDE_PX = (1.4, 2.0)
MACRO_DURATION_S = (0.5, 4.0)
MACRO_AMPLITUDE_PX = (3.5, 6.0)
#: realistic macro-expressions (log-uniform): a broad smile moves each lip corner by about a
#: tenth of the inter-ocular distance and drops the lower lip by more (about 9-12 px at the
#: simulator's face size), where 3.5-6 px is a restrained one
REALISTIC_MACRO_AMPLITUDE_PX = (3.5, 14.0)
BLINK_S = (0.10, 0.15)


@dataclass
class Expression:
    """One labelled expression (frames 0-based, inclusive)."""

    type: str  # "micro" | "macro"
    emotion: str  # one of rt_sfamnet.emotions.EMOTIONS7
    onset: int
    apex: int
    offset: int
    amplitude_px: float  # largest skin displacement at the apex, pixels of a 640-wide frame
    aus: dict[str, float]
    hold_end: int | None = None  # last frame at full intensity (default: apex)

    def __post_init__(self) -> None:
        if self.type not in ("micro", "macro"):
            raise ConfigError(f"expression type must be 'micro' or 'macro', found {self.type!r}")
        emo = normalise_emotion(self.emotion)
        if emo not in EMOTIONS7:
            raise ConfigError(f"unknown emotion {self.emotion!r}; expected one of {EMOTIONS7}")
        self.emotion = emo
        if self.hold_end is None:
            self.hold_end = self.apex
        if not (self.onset < self.apex <= self.hold_end < self.offset):
            raise ConfigError(
                f"{self.type} {self.emotion}: expected onset < apex <= hold_end < offset, "
                f"found {self.onset}, {self.apex}, {self.hold_end}, {self.offset}"
            )
        for au in self.aus:
            if au not in AU_HANDLES:
                raise ConfigError(f"unknown AU {au!r}; expected one of {sorted(AU_HANDLES, key=int)}")

    def intensity(self, frame: int) -> float:
        """Activation in [0, 1] at ``frame`` (raised-cosine rise and fall)."""
        assert self.hold_end is not None
        if frame <= self.onset or frame >= self.offset:
            return 0.0
        if frame < self.apex:
            x = (frame - self.onset) / (self.apex - self.onset)
        elif frame <= self.hold_end:
            return 1.0
        else:
            x = (self.offset - frame) / (self.offset - self.hold_end)
        return 0.5 - 0.5 * math.cos(math.pi * x)


@dataclass
class Blink:
    """An unlabelled blink: the lids close and reopen between ``start`` and ``end`` frames."""

    start: int
    end: int

    def intensity(self, frame: int) -> float:
        """Lid closure in [0, 1] (1 = closed), reaching full closure mid-blink."""
        if frame <= self.start or frame >= self.end:
            return 0.0
        x = (frame - self.start) / (self.end - self.start)
        return min(1.0, 1.35 * math.sin(math.pi * x))


@dataclass
class HeadMotion:
    """Slow head drift plus small jitter, a deterministic function of time.

    Amplitudes are in pixels of a 640-wide frame, degrees and millimetres; each channel is a
    sum of sinusoids with periods ``drift_periods_s`` (drift) and ``jitter_periods_s``
    (jitter) and phases drawn from ``seed``.
    """

    seed: int = 0
    drift_px: float = 3.0
    roll_deg: float = 0.6
    dz_mm: float = 8.0
    jitter_px: float = 0.12
    drift_periods_s: tuple[float, ...] = (23.0, 11.0, 7.3)
    jitter_periods_s: tuple[float, ...] = (0.9, 0.53, 0.37)

    def __post_init__(self) -> None:
        rng = np.random.default_rng([self.seed, 7331])
        self._phase = rng.uniform(0, 2 * np.pi, (5, len(self.drift_periods_s) + len(self.jitter_periods_s)))

    def pose(self, t: float) -> tuple[float, float, float, float]:
        """(tx px, ty px, roll degrees, dz mm) at time ``t`` seconds."""
        nd = len(self.drift_periods_s)
        out = []
        for ch, amp in enumerate((self.drift_px, self.drift_px * 0.6, self.roll_deg, self.dz_mm)):
            v = 0.0
            for j, p in enumerate(self.drift_periods_s):
                v += math.sin(2 * math.pi * t / p + self._phase[ch, j]) / (j + 1)
            v *= amp / 1.5
            if ch < 2:
                for j, p in enumerate(self.jitter_periods_s):
                    v += self.jitter_px / 1.2 * math.sin(2 * math.pi * t / p + self._phase[ch, nd + j])
            out.append(v)
        return out[0], out[1], out[2], out[3]


@dataclass
class Script:
    """Everything the simulated face does in one video."""

    n_frames: int
    fps: float = 30.0
    expressions: list[Expression] = field(default_factory=list)
    blinks: list[Blink] = field(default_factory=list)
    motion: HeadMotion = field(default_factory=HeadMotion)
    nuisance: Nuisance | None = None  # unlabelled head moves, talking, hands, light, noise

    def __post_init__(self) -> None:
        if self.n_frames < 1:
            raise ConfigError(f"a script needs at least 1 frame, found {self.n_frames}")
        for e in self.expressions:
            if e.offset >= self.n_frames:
                raise ConfigError(
                    f"{e.type} {e.emotion} at frames {e.onset}-{e.offset} ends after the last "
                    f"frame {self.n_frames - 1}"
                )

    def active(self, frame: int) -> list[tuple[int, float]]:
        """(expression index, intensity) of the expressions moving at ``frame``."""
        out = []
        for i, e in enumerate(self.expressions):
            if e.onset < frame < e.offset:
                out.append((i, e.intensity(frame)))
        return out

    def blink(self, frame: int) -> float:
        """Lid closure in [0, 1] at ``frame``."""
        v = 0.0
        for b in self.blinks:
            if b.start < frame < b.end:
                v = max(v, b.intensity(frame))
        return v

    def au_activations(self, frame: int) -> dict[str, float]:
        """Per-AU activation at ``frame`` (expression intensity × AU weight, summed), e.g.
        ``{"AU6": 0.3, "AU12": 0.5}``; empty when the face is neutral."""
        acts: dict[str, float] = {}
        for i, a in self.active(frame):
            for au, w in self.expressions[i].aus.items():
                acts[f"AU{au}"] = acts.get(f"AU{au}", 0.0) + a * w
        return acts


def micro_timing(rng: np.random.Generator, fps: float) -> tuple[int, int, int]:
    """(onset->apex, apex->offset, hold) frame counts of a micro-expression at ``fps``.

    Rise 0.1-0.2 s (inside the 0.07-0.25 s onset->apex rule), a hold at the apex of about
    0.13-0.23 s and a quick fall of 0.1-0.13 s; the hold is shortened so that
    ``(offset - onset + 1) / fps`` stays under 0.5 s (at 30 FPS: offset - onset <= 13 frames).
    The hold keeps the face displaced for several frames, so a flow window that starts
    during the rise sees the full displacement instead of a rise and a fall that cancel.
    """
    lo = max(1, math.ceil(MICRO_ONSET_APEX_S[0] * fps))
    hi = max(lo, math.floor(MICRO_ONSET_APEX_S[1] * fps))
    rise_lo = max(lo, math.ceil(0.1 * fps))
    rise_hi = max(rise_lo, min(hi, math.floor(0.2 * fps)))
    rise = int(rng.integers(rise_lo, rise_hi + 1))
    max_total = math.ceil(MICRO_MAX_S * fps) - 2  # (offset - onset + 1) / fps < 0.5 s
    fall_lo = max(1, math.ceil(0.1 * fps))
    fall_hi = max(fall_lo, math.floor(0.13 * fps))
    fall = int(rng.integers(fall_lo, fall_hi + 1))
    fall = max(1, min(fall, max_total - rise - 1))
    hold_lo = max(0, math.ceil(0.13 * fps))
    hold_hi = max(hold_lo, math.floor(0.23 * fps))
    hold = int(rng.integers(hold_lo, hold_hi + 1))
    hold = max(0, min(hold, max_total - rise - fall))
    return rise, hold + fall, hold


MACRO_RISE_S, MACRO_FALL_S = (0.6, 1.2), (0.7, 1.4)
REALISTIC_MACRO_RISE_S, REALISTIC_MACRO_FALL_S = (0.25, 1.2), (0.25, 1.4)


def macro_timing(rng: np.random.Generator, fps: float,
                 rise_s: tuple[float, float] = MACRO_RISE_S,
                 fall_s: tuple[float, float] = MACRO_FALL_S) -> tuple[int, int, int]:
    """(onset->apex, apex->offset, hold) frame counts of a macro-expression at ``fps``.

    Slow onsets (``rise_s``, 0.6-1.2 s by default) and offsets (``fall_s``, 0.7-1.4 s): a
    macro-expression moves the face by several pixels, and a fast onset would look like a
    micro-expression inside a short flow window. Real smiles and frowns can reach their apex
    in a quarter of a second and be let go as fast, so the realistic simulator uses
    :data:`REALISTIC_MACRO_RISE_S` and :data:`REALISTIC_MACRO_FALL_S`. The hold is adjusted
    so the total stays within 0.5-4 s.
    """
    rise = max(2, int(round(rng.uniform(*rise_s) * fps)))
    hold = int(round(rng.uniform(0.2, 1.4) * fps))
    fall = max(2, int(round(rng.uniform(*fall_s) * fps)))
    total = rise + hold + fall
    lo, hi = math.ceil(MACRO_DURATION_S[0] * fps) + 1, math.floor(MACRO_DURATION_S[1] * fps) - 1
    if total < lo:
        hold += lo - total
    elif total > hi:
        hold = max(0, hold - (total - hi))
    return rise, fall + hold, hold


def make_expression(rng: np.random.Generator, type: str, emotion: str, onset: int, fps: float,
                    amplitude_px: float | None = None, realistic: bool = False) -> Expression:
    """A random expression of ``type`` and ``emotion`` starting at ``onset`` (frames).

    ``realistic``: draw the AUs from :data:`~rt_sfamnet.sim.aus.REALISTIC_PROTOTYPES`
    (open-mouth smiles and crying too), macro onsets and offsets from
    :data:`REALISTIC_MACRO_RISE_S` and :data:`REALISTIC_MACRO_FALL_S` and macro amplitudes
    from :data:`REALISTIC_MACRO_AMPLITUDE_PX` (log-uniform).
    """
    emotion = normalise_emotion(emotion)
    if emotion not in EMOTION_PROTOTYPES:
        raise ConfigError(f"unknown emotion {emotion!r}; expected one of {EMOTIONS7}")
    variants = (REALISTIC_PROTOTYPES if realistic else EMOTION_PROTOTYPES)[emotion]
    aus = dict(variants[int(rng.integers(len(variants)))])
    if type == "micro":
        rise, rest, hold = micro_timing(rng, fps)
        amp = rng.uniform(*MICRO_AMPLITUDE_PX) if amplitude_px is None else amplitude_px
    elif type == "macro":
        rise, rest, hold = (macro_timing(rng, fps, REALISTIC_MACRO_RISE_S, REALISTIC_MACRO_FALL_S)
                            if realistic else macro_timing(rng, fps))
        if amplitude_px is not None:
            amp = amplitude_px
        elif realistic:
            amp = float(np.exp(rng.uniform(*np.log(REALISTIC_MACRO_AMPLITUDE_PX))))
        else:
            amp = rng.uniform(*MACRO_AMPLITUDE_PX)
    else:
        raise ConfigError(f"expression type must be 'micro' or 'macro', found {type!r}")
    apex = onset + rise
    return Expression(type, emotion, onset, apex, apex + rest, float(amp), aus,
                      hold_end=apex + hold)


def blink_frames(rng: np.random.Generator, fps: float) -> int:
    """Length (end - start, frames) of a 100-150 ms blink at ``fps``."""
    lo = max(2, math.ceil(BLINK_S[0] * fps))
    hi = max(lo, math.floor(BLINK_S[1] * fps))
    return int(rng.integers(lo, hi + 1))


def place_blinks(rng: np.random.Generator, n_frames: int, fps: float, busy: list[tuple[int, int]],
                 every_s: tuple[float, float] = (3.0, 7.0), clearance_s: float = 0.4) -> list[Blink]:
    """Blinks every ``every_s`` seconds, kept ``clearance_s`` away from the ``busy`` spans."""
    out: list[Blink] = []
    t = rng.uniform(0.5, every_s[1]) * fps
    clear = clearance_s * fps
    while t < n_frames - 2:
        start = int(t)
        n = blink_frames(rng, fps)
        end = start + n
        if end >= n_frames:
            break
        if all(end + clear < a or start - clear > b for a, b in busy):
            out.append(Blink(start, end))
            t = end + rng.uniform(*every_s) * fps
        else:
            t += 0.25 * fps
    return out


def generate_script(seed: int, n_frames: int, fps: float = 30.0, micro_fraction: float = 0.6,
                    gap_s: tuple[float, float] = (1.0, 2.6), emotions: list[str] | None = None,
                    blinks: bool = True, head_motion: bool = True,
                    nuisance: bool = False) -> Script:
    """A random, deterministic script: expressions separated by ``gap_s`` pauses.

    Args:
        seed: random seed; the same arguments give the same script.
        n_frames: length of the video.
        fps: frame rate.
        micro_fraction: probability that an expression is a micro-expression.
        gap_s: range of the neutral pause before each expression, seconds.
        emotions: emotions to cycle through (shuffled per cycle); default all 7.
        blinks: add unlabelled blinks.
        head_motion: add head drift and jitter (otherwise the head is still).
        nuisance: add what a person in front of a camera does besides expressions, all
            unlabelled (:mod:`rt_sfamnet.sim.nuisance`: head moves at real speeds, talking, a
            hand over the face, lighting drift, per-video noise and compression) and blink
            more often (every 2-5 s), with 2-4.5 s between expressions to make room. Its
            expressions are realistic ones (:func:`make_expression`: open-mouth smiles and
            crying, macro onsets and offsets from 0.25 s, broad macro-expressions up to
            14 px). The events come from a separate random
            stream, so scripts without this option are exactly what they were before it
            existed.
    """
    rng = np.random.default_rng([int(seed), 1234])
    if nuisance:  # room between expressions for the unlabelled events
        gap_s = (max(gap_s[0], 2.0), max(gap_s[1], 4.5))
    pool = [normalise_emotion(e) for e in (emotions or list(EMOTIONS7))]
    order: list[str] = []
    exprs: list[Expression] = []
    t = int(round(rng.uniform(*gap_s) * fps))
    while True:
        if not order:
            order = list(rng.permutation(pool))
        typ = "micro" if rng.random() < micro_fraction else "macro"
        e = make_expression(rng, typ, order[-1], t, fps, realistic=nuisance)
        if e.offset + int(0.3 * fps) >= n_frames:
            if typ == "macro":  # try a micro-expression in the remaining time
                e = make_expression(rng, "micro", order[-1], t, fps, realistic=nuisance)
                if e.offset + int(0.3 * fps) >= n_frames:
                    break
            else:
                break
        order.pop()
        exprs.append(e)
        t = e.offset + int(round(rng.uniform(*gap_s) * fps))
    busy = [(e.onset, e.offset) for e in exprs]
    every = (2.0, 5.0) if nuisance else (3.0, 7.0)
    bl = place_blinks(rng, n_frames, fps, busy, every_s=every) if blinks else []
    motion = HeadMotion(seed=int(seed)) if head_motion else HeadMotion(
        seed=int(seed), drift_px=0.0, roll_deg=0.0, dz_mm=0.0, jitter_px=0.0)
    extra = None
    if nuisance:
        extra = make_nuisance(int(seed), n_frames, fps,
                              busy + [(b.start, b.end) for b in bl])
    return Script(n_frames, fps, exprs, bl, motion, extra)


def script_intervals(script: Script, subject: str = "sim", video: str = "seed0",
                     frame_offset: int = 0) -> list:
    """Ground truth of ``script`` as :class:`~rt_sfamnet.intervals.Interval` objects.

    Frames are the script's (0-based) plus ``frame_offset`` (1 for a dataset whose frame
    files are numbered from 1). Micro-expressions carry their emotion; macro-expressions
    leave ``emotion`` empty, as the interval format asks. Every row has the extra columns
    ``au`` (CAS(ME)^3 AU code) and ``prototype`` (the emotion whose AUs were animated).
    """
    from rt_sfamnet.intervals import Interval
    from rt_sfamnet.sim.aus import au_string

    out = []
    for e in script.expressions:
        out.append(Interval(
            subject=subject, video=video, onset=e.onset + frame_offset,
            apex=e.apex + frame_offset, offset=e.offset + frame_offset, type=e.type,
            emotion=e.emotion if e.type == "micro" else "",
            extra={"au": au_string(e.aus), "prototype": e.emotion},
        ))
    return out
