"""rt_sfamnet.logs: -v/-q levels, the native-log filter (patterns and a real descriptor-level
run in a subprocess), and an analysis that prints no native log line."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rt_sfamnet import logs
from rt_sfamnet.cli import main

REPO = Path(__file__).resolve().parents[1]

NOISE = [
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "W0000 00:00:1796055345.993013   12917 inference_feedback_manager.cc:114] Feedback manager "
    "requires a model with a single signature inference. Disabling support for feedback tensors.",
    "W0000 00:00:1796055347.931277   12917 landmark_projection_calculator.cc:186] Using NORM_RECT "
    "without IMAGE_DIMENSIONS is only supported for the square ROI.",
    "I0000 00:00:1796055345.100000   12917 gl_context.cc:357] GL version: 3.2 (OpenGL ES 3.2)",
]
KEPT = [
    "Traceback (most recent call last):",
    '  File "/x/inference_feedback_manager.cc", line 114, in <module>',
    "RuntimeError: W0000 00:00:1.0 1 a.cc:1] not at the start",
    "rt-sfamnet analyze: error: recording x.db3 does not exist",
    "E0000 00:00:1796055345.993013   12917 calculator_graph.cc:887] INVALID_ARGUMENT: bad",
    "F0000 00:00:1796055345.993013   12917 check.cc:1] Check failed: x == y",
    "WARNING: something else",
    "INFO: Created TensorFlow Lite XNNPACK delegate for GPU and more",
    "",
]


@pytest.mark.parametrize("line", NOISE)
def test_known_native_lines_are_noise(line):
    assert logs.is_native_noise(line)
    assert logs.is_native_noise(line + "\n")


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line):
    assert not logs.is_native_noise(line)


def test_levels():
    assert logs.level_for(0, False) == logging.WARNING
    assert logs.level_for(1, False) == logging.INFO
    assert logs.level_for(2, False) == logging.DEBUG
    assert logs.level_for(3, True) == logging.ERROR


def test_configure_replaces_its_handler():
    before = list(logs.LOGGER.handlers)
    try:
        assert logs.configure(1) == logging.INFO
        assert logs.configure(0, quiet=True) == logging.ERROR
        ours = [h for h in logs.LOGGER.handlers if h not in before]
        assert len(ours) == 1
        assert logs.LOGGER.level == logging.ERROR
    finally:
        for h in list(logs.LOGGER.handlers):
            if h not in before:
                logs.LOGGER.removeHandler(h)
        logs.LOGGER.setLevel(logging.NOTSET)
        logs.LOGGER.propagate = True


SCRIPT = r"""
import os, resource, sys
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the abort below leaves no core file
from rt_sfamnet import logs
assert logs.install_native_filter() is not None
os.write(2, b"W0000 00:00:1796055345.993013   12917 inference_feedback_manager.cc:114] noise\n")
os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
os.write(2, b"E0000 00:00:1796055345.993013   12917 graph.cc:1] a native error\n")
print("app message on sys.stderr", file=sys.stderr)
print("stdout line")
if sys.argv[1] == "raise":
    raise ValueError("boom")
os.write(2, b"F0000 00:00:1.0   1 check.cc:1] Check failed: before the crash\n")
os.abort()
"""


def _run_script(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          cwd=REPO, timeout=60)


def test_filter_drops_only_known_lines_and_keeps_tracebacks():
    res = _run_script("raise")
    assert res.returncode == 1
    assert "noise" not in res.stderr and "XNNPACK" not in res.stderr
    assert "a native error" in res.stderr
    assert "app message on sys.stderr" in res.stderr
    assert "Traceback (most recent call last)" in res.stderr
    assert "ValueError: boom" in res.stderr
    assert res.stdout == "stdout line\n"


def test_filter_keeps_the_output_of_a_native_crash():
    res = _run_script("abort")
    assert res.returncode != 0
    assert "Check failed: before the crash" in res.stderr
    assert "noise" not in res.stderr


def test_filter_can_be_turned_off():
    env = {**os.environ, "RT_SFAMNET_NATIVE_LOGS": "1"}
    res = subprocess.run([sys.executable, "-c", "from rt_sfamnet import logs; "
                          "print(logs.install_native_filter())"], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=60)
    assert res.stdout.strip() == "None"


@pytest.mark.slow
def test_analyze_prints_no_native_log_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "rt_sfamnet.cli", "analyze",
                          str(REPO / "recordings" / "clip.db3"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert not [ln for ln in lines if logs.is_native_noise(ln)]
    assert "XNNPACK" not in res.stderr and "W0000" not in res.stderr
    assert "spotted" in res.stdout


def test_completion_script_names_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--print-completion", "bash"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "analyze" in out and "--weights" in out


def test_every_command_takes_verbose_and_quiet():
    from rt_sfamnet.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        opts = {o for a in p._actions for o in a.option_strings}
        assert {"-v", "-q", "--verbose", "--quiet"} <= opts, name
