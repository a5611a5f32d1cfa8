"""read_json: every damaged JSON file is one error naming it; output_errors: an OSError of a
writing block is one OutputError naming the output and the file."""

from __future__ import annotations

import errno

import pytest

from rt_sfamnet.errors import DatasetError, InputFileError, OutputError
from rt_sfamnet.fileio import output_errors, read_json


@pytest.mark.parametrize(("content", "expect", "words"), [
    (b'{"a": 1', dict, "expected JSON, found Expecting ',' delimiter at line 1 column 8"),
    (b"  \n", dict, "expected JSON, found an empty file"),
    (b"[1]", dict, "expected a JSON object, found list"),
    (b'{"a": 1}', list, "expected a JSON array, found dict"),
    (b'{"a": "\xff"}', dict, "expected UTF-8 JSON text, found a byte 0xFF at offset 7"),
    (b"1" * 5000, dict, "is damaged: Exceeds the limit"),
])
def test_damaged_json_is_one_error_naming_the_file(tmp_path, content, expect, words):
    p = tmp_path / "meta.json"
    p.write_bytes(content)
    with pytest.raises(DatasetError) as info:
        read_json(p, "cache metadata", expect=expect, error=DatasetError)
    msg = str(info.value)
    assert msg.startswith(f"{p}: the cache metadata ") and words in msg and "\n" not in msg


def test_missing_and_good_json(tmp_path):
    with pytest.raises(InputFileError, match="the run settings is missing"):
        read_json(tmp_path / "none.json", "run settings")
    (tmp_path / "ok.json").write_text('{"a": [1, 2]}')
    assert read_json(tmp_path / "ok.json") == {"a": [1, 2]}


def test_output_errors_names_the_output_and_the_file(tmp_path):
    inner = tmp_path / "run" / "folds" / "x.json"
    with pytest.raises(OutputError) as info:
        with output_errors("run folder", tmp_path / "run"):
            raise OSError(errno.ENOSPC, "No space left on device", str(inner))
    assert str(info.value) == (f"cannot write the run folder {tmp_path / 'run'} ({inner}): "
                               "No space left on device")
    with pytest.raises(OutputError, match=r"3040 written \(is the disk full\?\)$"):
        with output_errors("feature cache", tmp_path):
            raise OSError("142884 requested and 3040 written")
