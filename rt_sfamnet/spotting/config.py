"""Spotting values (:class:`SpottingConfig`, resolved per type as :class:`TypeParams`) and the
spotted interval (:class:`SpottedInterval`). Lengths are in score samples, see the package
docstring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, NamedTuple

from rt_sfamnet.errors import ConfigError

TYPES = ("micro", "macro")
#: How a spotted interval gets its emotion (:attr:`SpottingConfig.emotion_rule`).
EMOTION_RULES = ("release", "weighted")


@dataclass
class SpottingConfig:
    """Every value of the post-processing; ``None`` means "the variant's default".

    Lengths are in score samples. Defaults derive from the release's values in frames at
    30 FPS, scaled by ``fps / 30`` and divided (``//``) by ``frame_skip``: ``k_micro`` 15,
    ``k_macro`` 20, micro length ``[15, 32]``, macro ``[25, 90]``, search distances micro
    left 15 / right 32, macro 50 / 50, ``macro_widen`` ``(50 // fs) // 3``.

    ``variant="release"`` (default): thresholds 0.576, ``micro_phase_dif`` 0.017, no
    micro/macro gap rule. ``variant="paper"`` (the paper's / MTSN's list): thresholds 0.58,
    ``micro_phase_dif`` 0.02, and an ME peak is dropped when the macro curve at the same sample
    differs from the micro curve by less than ``micro_macro_gap`` = 0.02.

    ``video_threshold``: the whole-video rule (``None`` disables it). ``live_video_rule``: how
    :class:`StreamingSpotter` handles it, since the whole-video mean is unknown until the end:
    ``"running"`` (an interval is emitted only while the running mean of the final
    micro-smoothed values is below the threshold; at ``finish()`` the true rule decides the
    rest), ``"ignore"`` (never applied live; ``finish()`` applies nothing either) or
    ``"defer"`` (hold every interval until ``finish()``: exact, but no live output).

    ``emotion_rule``: how a spotted interval gets its emotion. ``"release"`` (default, release
    step 6): the most common predicted class over samples ``[start, peak]``. ``"weighted"``:
    the class whose samples over the whole interval ``[start, end]`` have the largest sum of
    raw spotting scores (:func:`rt_sfamnet.spotting.offline.weighted_emotion`), so the
    samples where the face moves decide, and not the low-score samples around them. The peak
    of a box-smoothed curve can sit anywhere on its flat top, so ``[start, peak]`` can miss
    the samples of the expression itself; with the realistic simulator's macro-expressions
    this rule gives the matched macro-expressions the right emotion far more often
    (``docs/real-faces.md``, section 7).

    ``offset_extend`` (frames, default 0 = the release): the release reports an interval's
    offset at the *first* frame of its last sample's flow window, although that sample sees
    the motion of frames ``f .. f + k_SW``. For expressions about as short as the window,
    ``offset_extend = k_SW`` (the last frame the last sample sees) places the offset where the
    motion ends. It is added to every interval's offset (micro and macro), does not change
    which intervals are found, and is not clipped to the video's last frame.

    TOML has no null: to switch a rule off from a config file use a value that never fires,
    ``video_threshold = 1.5`` and ``micro_max_mean = 1.5`` (smoothed scores are <= 1), and
    ``micro_macro_gap = 0.0``.
    """

    frame_skip: int = 2
    fps: float = 30.0
    variant: Literal["release", "paper"] = "release"
    k_micro: int | None = None
    k_macro: int | None = None
    micro_min_length: int | None = None
    micro_max_length: int | None = None
    macro_min_length: int | None = None
    macro_max_length: int | None = None
    micro_left: int | None = None
    micro_right: int | None = None
    macro_left: int | None = None
    macro_right: int | None = None
    micro_distance: int | None = None
    macro_distance: int | None = None
    micro_threshold: float | None = None
    macro_threshold: float | None = None
    micro_phase_dif: float | None = None
    macro_phase_dif: float | None = None
    micro_max_mean: float | None = 0.725
    macro_widen: int | None = None
    micro_peak_offset: int = -1
    macro_peak_offset: int = 0
    micro_macro_gap: float | None = None
    video_threshold: float | None = 0.41
    live_video_rule: Literal["running", "ignore", "defer"] = "running"
    offset_extend: int = 0
    emotion_rule: Literal["release", "weighted"] = "release"

    def __post_init__(self) -> None:
        oe = self.offset_extend
        if not isinstance(oe, int) or isinstance(oe, bool) or oe < 0:
            raise ConfigError(f"spotting.offset_extend must be an integer >= 0 (frames), found {oe!r}")
        if self.variant not in ("release", "paper"):
            raise ConfigError(f"spotting.variant must be 'release' or 'paper', found {self.variant!r}")
        if self.emotion_rule not in EMOTION_RULES:
            raise ConfigError(
                f"spotting.emotion_rule must be 'release' or 'weighted', found {self.emotion_rule!r}"
            )
        if self.live_video_rule not in ("running", "ignore", "defer"):
            raise ConfigError(
                "spotting.live_video_rule must be 'running', 'ignore' or 'defer', found "
                f"{self.live_video_rule!r}"
            )
        if not isinstance(self.frame_skip, int) or self.frame_skip < 1:
            raise ConfigError(f"spotting.frame_skip must be an integer >= 1, found {self.frame_skip!r}")
        if not self.fps > 0:
            raise ConfigError(f"spotting.fps must be > 0, found {self.fps!r}")
        for kind in TYPES:
            self.params(kind)  # validates

    def _frames(self, value_at_30fps: int) -> int:
        return int(round(value_at_30fps * self.fps / 30.0)) // self.frame_skip

    def params(self, kind: str) -> TypeParams:
        """The resolved values for ``"micro"`` or ``"macro"`` (validated)."""
        fs = self._frames
        paper = self.variant == "paper"
        if kind == "micro":
            k = self.k_micro if self.k_micro is not None else fs(15)
            left = self.micro_left if self.micro_left is not None else fs(15)
            right = self.micro_right if self.micro_right is not None else fs(32)
            p = TypeParams(
                kind="micro",
                k=k,
                left=left,
                right=right,
                min_length=self.micro_min_length if self.micro_min_length is not None else fs(15),
                max_length=self.micro_max_length if self.micro_max_length is not None else fs(32),
                distance=self.micro_distance if self.micro_distance is not None else (left + right) // 2,
                threshold=_pick(self.micro_threshold, 0.58 if paper else 0.576),
                phase_dif=_pick(self.micro_phase_dif, 0.02 if paper else 0.017),
                max_mean=self.micro_max_mean,
                widen=0,
                peak_offset=self.micro_peak_offset,
                gap=_pick(self.micro_macro_gap, 0.02 if paper else None),
                emotion_rule=self.emotion_rule,
            )
        elif kind == "macro":
            k = self.k_macro if self.k_macro is not None else fs(20)
            left = self.macro_left if self.macro_left is not None else fs(50)
            right = self.macro_right if self.macro_right is not None else fs(50)
            p = TypeParams(
                kind="macro",
                k=k,
                left=left,
                right=right,
                min_length=self.macro_min_length if self.macro_min_length is not None else fs(25),
                max_length=self.macro_max_length if self.macro_max_length is not None else fs(90),
                distance=self.macro_distance if self.macro_distance is not None else (left + right) // 2,
                threshold=_pick(self.macro_threshold, 0.58 if paper else 0.576),
                phase_dif=_pick(self.macro_phase_dif, 0.0),
                max_mean=None,
                widen=self.macro_widen if self.macro_widen is not None else fs(50) // 3,
                peak_offset=self.macro_peak_offset,
                gap=None,
                emotion_rule=self.emotion_rule,
            )
        else:
            raise ValueError(f"kind must be 'micro' or 'macro', found {kind!r}")
        p.validate()
        return p


SCHEDULE_KEYS = ("frame_skip", "fps")
"""The :class:`SpottingConfig` values that belong to the sample schedule, not to the user:
:func:`spotting_config` always sets them."""


def spotting_config(values: Mapping[str, Any] | None, frame_skip: int, fps: float,
                    where: str = "spotting") -> SpottingConfig:
    """The one way to build a :class:`SpottingConfig` for a schedule: ``values`` (the
    weights' and the user's spotting values, unknown keys raise ConfigError naming
    ``where``) with ``frame_skip`` and ``fps`` set from the schedule. A ``frame_skip`` or
    ``fps`` in ``values`` is ignored: the schedule decides (the engine's settings, LOSO
    evaluation and the tuning all call this).
    """
    from rt_sfamnet.config import config_from_mapping

    merged = {k: v for k, v in dict(values or {}).items() if k not in SCHEDULE_KEYS}
    merged.update(frame_skip=int(frame_skip), fps=float(fps))
    return config_from_mapping(SpottingConfig, merged, where)


def spotting_changes(config: SpottingConfig) -> dict[str, Any]:
    """The values of ``config`` that differ from the release's defaults (the schedule's
    ``frame_skip`` and ``fps`` left out): what a report or the app shows as "changed"."""
    default = SpottingConfig()
    return {f.name: getattr(config, f.name) for f in fields(SpottingConfig)
            if f.name not in SCHEDULE_KEYS and getattr(config, f.name) != getattr(default, f.name)}


def _pick(value, default):
    return default if value is None else value


class TypeParams(NamedTuple):
    """Resolved post-processing values of one expression type (lengths in samples)."""

    kind: str
    k: int
    left: int
    right: int
    min_length: int
    max_length: int
    distance: int
    threshold: float
    phase_dif: float
    max_mean: float | None
    widen: int
    peak_offset: int
    gap: float | None
    emotion_rule: str = "release"

    def validate(self) -> None:
        where = f"spotting ({self.kind})"
        if self.k < 1:
            raise ConfigError(f"{where}: smoothing half-length k must be >= 1 sample, found {self.k} "
                              "(frame_skip too large for the release lengths?)")
        if self.distance < 1:
            raise ConfigError(f"{where}: peak distance must be >= 1 sample, found {self.distance}")
        if self.left < 0 or self.right < 0 or self.widen < 0:
            raise ConfigError(f"{where}: search distances and widening must be >= 0")
        if self.min_length > self.max_length:
            raise ConfigError(
                f"{where}: min length {self.min_length} is above max length {self.max_length}"
            )
        if not -self.k <= self.peak_offset <= 1:
            raise ConfigError(
                f"{where}: peak offset must be within [-k, 1] = [-{self.k}, 1], found {self.peak_offset}"
            )


@dataclass
class SpottedInterval:
    """One spotted expression in frames of the video (0-based, inclusive).

    ``score`` is the smoothed score at the apex; ``peak_sample`` the apex in score samples.
    ``emotion`` is the most common predicted class over samples ``[start, peak]``, for micro-
    and macro-expressions alike (release step 6), or with ``emotion_rule="weighted"`` the
    class with the largest sum of raw scores over ``[start, end]``; "" without labels.
    """

    type: str
    onset: int
    apex: int
    offset: int
    emotion: str
    score: float
    peak_sample: int = -1

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "emotion": self.emotion,
            "score": self.score,
        }

    def to_interval(self, subject: str, video: str):
        """As an :class:`rt_sfamnet.intervals.Interval` (score kept in ``extra``)."""
        from rt_sfamnet.intervals import Interval

        return Interval(
            subject=subject, video=video, onset=self.onset, apex=self.apex, offset=self.offset,
            type=self.type, emotion=self.emotion, extra={"score": f"{self.score:.6f}"},
        )


def _sort_key(iv: SpottedInterval):
    return (iv.onset, iv.apex, iv.offset, TYPES.index(iv.type))

