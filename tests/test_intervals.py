import re
from pathlib import Path

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


HEADER = "subject,video,onset,apex,offset,type,emotion\n"


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400", "Infinity", "2.5"])
@pytest.mark.parametrize("column", ["onset", "apex", "offset"])
def test_non_finite_or_fractional_frames_are_clear_errors(tmp_path, value, column):
    cells = {"onset": "3", "apex": "5", "offset": "9"}
    cells[column] = value
    p = tmp_path / "nan.csv"
    p.write_text(HEADER + f"s,v,{cells['onset']},{cells['apex']},{cells['offset']},micro,x\n")
    with pytest.raises(InputFileError, match=f"line 2, column '{column}'") as info:
        read_intervals(p)
    assert value in str(info.value) and "\n" not in str(info.value)


def test_frames_in_float_notation_and_large_integers_are_exact(tmp_path):
    p = tmp_path / "big.csv"
    p.write_text(HEADER + "s,v,1.2e1,12.0,9007199254740993,macro,\n")
    (iv,) = read_intervals(p)
    assert (iv.onset, iv.apex, iv.offset) == (12, 12, 9007199254740993)  # not rounded to 2**53


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("subject,video,onset,apex,offset,type,emotion,onset\ns,v,1,1,2,micro,x,7\n",
         "['onset'] appear more than once"),
        (HEADER + "s,v,1,1,2,micro,x\x00\n", "line 2: a NUL byte"),
        (HEADER + 's,v,1,1,2,micro,"x\n', "not valid CSV"),
        (HEADER + "s,v,1,1,2,micro\n", "fewer fields"),
    ],
)
def test_malformed_csv_structure(tmp_path, text, fragment):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputFileError, match=re.escape(fragment)):
        read_intervals(p)


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text(HEADER + "\ns,v,1,1,2,micro,x\n\ns,v,x,1,2,micro,x\n")
    with pytest.raises(InputFileError, match="line 5, column 'onset'"):
        read_intervals(p)


@pytest.mark.parametrize("where", ["folder", "under_file", "proc"])
def test_unwritable_interval_file_is_a_clear_error_without_leftovers(tmp_path, where):
    from rt_sfamnet.errors import OutputError

    ivs = [Interval("s", "v", 1, None, 5, "micro", "")]
    if where == "folder":
        target = tmp_path / "iv.csv"
        target.mkdir()
    elif where == "under_file":
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "iv.csv"
    else:
        target = Path("/proc/rt-sfamnet-test/iv.csv")
    with pytest.raises(OutputError, match="cannot write the interval file") as info:
        write_intervals(target, ivs)
    assert str(target) in str(info.value) and "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == (["plain"] if where == "under_file"
                                                             else ["iv.csv"] if where == "folder"
                                                             else [])


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    """An OSError while the file is written (a full or read-only disk) is a clear error; the
    previous file stays whole and no temporary file is left."""
    import os as _os

    from rt_sfamnet.errors import OutputError

    target = tmp_path / "iv.csv"
    write_intervals(target, [Interval("s", "v", 1, None, 5, "micro", "")])
    before = target.read_text()

    def fail(*a, **k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(_os, "replace", fail)
    with pytest.raises(OutputError, match="Read-only file system"):
        write_intervals(target, [Interval("s", "v", 7, None, 9, "macro", "")])
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["iv.csv"]
