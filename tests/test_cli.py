import subprocess
import sys

import pytest

from rt_sfamnet import __version__
from rt_sfamnet.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_console_script_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "rt_sfamnet.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("simulate", "analyze", "evaluate", "train", "gui", "bench"):
        assert name in out


def test_bench_unknown_name_is_a_clear_error(capsys):
    assert main(["bench", "nonexistent"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
