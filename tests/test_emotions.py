import pytest

from rt_sfamnet.emotions import class_index, emotion_names, normalise_emotion, to_class
from rt_sfamnet.errors import RtSfamnetError


def test_release_order():
    assert emotion_names(4) == ("negative", "positive", "surprise", "others", "neutral")
    assert emotion_names(7) == (
        "disgust", "surprise", "others", "fear", "anger", "sad", "happy", "neutral"
    )


@pytest.mark.parametrize(
    "name, four",
    [("happy", "positive"), ("Disgust", "negative"), ("fear", "negative"), ("ANGER", "negative"),
     ("sad", "negative"), ("surprise", "surprise"), ("Others", "others"), ("Happiness", "positive")],
)
def test_seven_to_four(name, four):
    assert to_class(name, 4) == four


def test_indices_and_errors():
    assert class_index("Others", 4) == 3 and class_index("happy", 7) == 6
    assert normalise_emotion(" Sadness ") == "sad"
    with pytest.raises(RtSfamnetError):
        to_class("bored", 7)
    with pytest.raises(RtSfamnetError):
        emotion_names(5)
