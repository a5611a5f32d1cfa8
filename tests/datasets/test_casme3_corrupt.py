"""A truncated annotation table is reported as a corrupt file, not as a missing table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rt_sfamnet.datasets.casme3 import read_annotations
from rt_sfamnet.errors import DatasetError
from tests.datasets.helpers import write_tables


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_truncated_xlsx_table_is_called_corrupt(tmp_path):
    ann = tmp_path / "ann"
    write_tables(ann, [("spNO.1", "a", 3, 5, 8, "12", "Micro-expression", "I")],
                 [("spNO.1", "a", 3, 5, 8, "12", "I", "happy")])
    _truncate(ann / "part_A_expressions.xlsx", 0.6)
    with pytest.raises(DatasetError) as info:
        read_annotations(ann)
    msg = str(info.value)
    assert "file corrupt" in msg and "part_A_expressions.xlsx" in msg
    assert "found 0 readable expression table(s) and 1 readable label table(s)" in msg
    assert "\n" not in msg


def test_truncated_official_xls_is_called_corrupt(reference_dir, tmp_path, capsys):
    ann = tmp_path / "ann"
    shutil.copytree(reference_dir / "casme3-annotations", ann)
    _truncate(ann / "CAS(ME)3_part_A_v2.xls", 0.3)
    with pytest.raises(DatasetError, match=r"file corrupt: .*CAS\(ME\)3_part_A_v2\.xls"):
        read_annotations(ann)
    assert "WARNING" not in capsys.readouterr().out  # xlrd's own complaints are not printed
