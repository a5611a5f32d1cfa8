"""Emotion classes of SFAMNet's 4- and 7-class settings (release order, neutral last).

- 4 classes: negative 0, positive 1, surprise 2, others 3, neutral 4.
- 7 classes: disgust 0, surprise 1, others 2, fear 3, anger 4, sad 5, happy 6, neutral 7.
- 7 -> 4: happy -> positive; disgust, fear, anger, sad -> negative; surprise -> surprise;
  others -> others.
"""

from __future__ import annotations

from rt_sfamnet.errors import RtSfamnetError

EMOTIONS4: tuple[str, ...] = ("negative", "positive", "surprise", "others")
EMOTIONS7: tuple[str, ...] = ("disgust", "surprise", "others", "fear", "anger", "sad", "happy")
NEUTRAL = "neutral"

TO4: dict[str, str] = {
    "happy": "positive",
    "disgust": "negative",
    "fear": "negative",
    "anger": "negative",
    "sad": "negative",
    "surprise": "surprise",
    "others": "others",
}

_ALIASES = {
    "happiness": "happy",
    "sadness": "sad",
    "angry": "anger",
    "other": "others",
    "surprised": "surprise",
    "disgusted": "disgust",
    "fearful": "fear",
}


def emotion_names(emotions: int) -> tuple[str, ...]:
    """Class names in network output order for ``emotions`` in {4, 7}, neutral last."""
    if emotions == 4:
        return EMOTIONS4 + (NEUTRAL,)
    if emotions == 7:
        return EMOTIONS7 + (NEUTRAL,)
    raise RtSfamnetError(f"emotions must be 4 or 7, found {emotions!r}")


def normalise_emotion(name: str) -> str:
    """Lower-case, strip, and map common synonyms ("Happiness" -> "happy", "Other" -> "others")."""
    key = str(name).strip().lower()
    return _ALIASES.get(key, key)


def to_class(name: str, emotions: int) -> str:
    """Map any annotation emotion name to a class name of the 4- or 7-class setting."""
    n = normalise_emotion(name)
    if emotions == 7:
        if n not in EMOTIONS7 and n != NEUTRAL:
            raise RtSfamnetError(f"unknown emotion {name!r}; expected one of {EMOTIONS7}")
        return n
    if n in EMOTIONS4 or n == NEUTRAL:
        return n
    if n not in TO4:
        raise RtSfamnetError(f"unknown emotion {name!r}; expected one of {EMOTIONS7 + EMOTIONS4}")
    return TO4[n]


def class_index(name: str, emotions: int) -> int:
    """Index of ``name`` (any spelling) in the network's output order."""
    return emotion_names(emotions).index(to_class(name, emotions))
