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


def test_an_oserror_no_command_named_is_one_line(monkeypatch, capsys):
    """A disk or permission failure a command did not turn into its own error still ends in
    one line and exit 2, never a traceback."""
    import rt_sfamnet.commands.weights as cmd

    def fails(args):
        raise PermissionError(13, "Permission denied", "/srv/data/x.safetensors")

    monkeypatch.setattr(cmd, "run", fails)
    assert main(["weights", "info", "x.safetensors"]) == 2
    assert capsys.readouterr().err == ("rt-sfamnet weights: error: /srv/data/x.safetensors: "
                                       "Permission denied\n")
