import pytest

from rt_sfamnet.errors import InputFileError
from rt_sfamnet.intervals import Interval, read_intervals, write_intervals


def test_round_trip(tmp_path):
    ivs = [
        Interval("s1", "a", 10, 14, 20, "micro", "happy", {"confidence": "0.9"}),
        Interval("s1", "a", 40, None, 90, "macro", ""),
    ]
    p = tmp_path / "iv.csv"
    write_intervals(p, ivs)
    back = read_intervals(p)
    assert [(i.subject, i.video, i.onset, i.apex, i.offset, i.type, i.emotion) for i in back] == [
        ("s1", "a", 10, 14, 20, "micro", "happy"),
        ("s1", "a", 40, None, 90, "macro", ""),
    ]
    assert back[0].extra == {"confidence": "0.9"} and back[0].length == 11


def test_prediction_file_without_apex(tmp_path):
    p = tmp_path / "pred.csv"
    p.write_text("subject,video,onset,offset,type,emotion\ns,v,3,9,Micro,Surprise\n")
    (iv,) = read_intervals(p)
    assert iv.apex is None and iv.type == "micro" and iv.emotion == "surprise"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("subject,video,onset\n", "missing column"),
        ("subject,video,onset,apex,offset,type,emotion\ns,v,x,1,2,micro,\n", "line 2, column 'onset'"),
        ("subject,video,onset,apex,offset,type,emotion\ns,v,1,1,2,mini,\n", "column 'type'"),
        ("subject,video,onset,apex,offset,type,emotion\ns,v,5,5,2,micro,\n", "before onset"),
        ("subject,video,onset,apex,offset,type,emotion\ns,v,5,5,9,micro,x,extra\n", "more fields"),
        ("subject,video,onset,apex,offset,type,emotion\ns,v,-1,5,9,micro,x\n", "non-negative"),
    ],
)
def test_malformed_files_name_line_and_column(tmp_path, text, fragment):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputFileError, match=fragment) as info:
        read_intervals(p)
    assert "bad.csv" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_intervals(tmp_path / "nope.csv")
