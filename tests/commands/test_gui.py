"""``rt-sfamnet gui``: display detection, the headless fallback, screenshots, bad options."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.commands import gui
from rt_sfamnet.config import parse_overrides
from tests.ui.helpers import CLIP, weights_for_tests


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    return weights_for_tests(tmp_path_factory.mktemp("gui-weights"))


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({"DISPLAY": ""}, "linux", False),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_display_available(env, platform, expected):
    assert gui.display_available(env, platform) is expected


def test_gui_module_does_not_import_qt():
    code = (
        "import sys, rt_sfamnet.cli, rt_sfamnet.commands.gui as g; rt_sfamnet.cli.build_parser();"
        "g.display_available(); print(any(m.startswith(('PySide6', 'ui')) for m in sys.modules))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(CLIP.parents[1]))
    assert out.stdout.strip() == "False"


def test_no_display_falls_back_to_headless_analysis(monkeypatch, tmp_path, capsys, weights):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.chdir(tmp_path)
    # every analysis option of the app reaches the headless analysis (no rebuilt argv)
    code = main(["gui", "--source", str(CLIP), "--weights", weights, "--flow-mode", "scene",
                 "--spot", "micro_threshold=0.9", "--spot", "k_micro=4",
                 "--no-weights-spotting"])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    assert "no display found" in err and "rt-sfamnet analyze" in err
    out = tmp_path / "out" / "demo"
    with (out / "frames.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    # 60 frames, a sample every 2nd frame, minus the k_SW window at the end
    assert len(rows) >= 20, (len(rows), err[-3000:])
    assert (out / "events.csv").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["features"]["mode"] == "scene"
    assert (summary["spotting"]["micro_threshold"], summary["spotting"]["k_micro"]) == (0.9, 4)


def test_headless_options_are_the_apps_options():
    from rt_sfamnet.cli import build_parser

    args = build_parser().parse_args(
        ["gui", "--weights", "w.safetensors", "--emotions", "7", "--flow-mode", "optical",
         "--device", "cpu", "--spot", "k_micro=3", "--no-weights-spotting"])
    config = gui.headless_options(args).engine_config()
    assert (config.weights, config.emotions, config.device) == ("w.safetensors", 7, "cpu")
    assert config.features == {"mode": "optical"} and config.spotting == {"k_micro": 3}
    assert config.weights_spotting is False and config.keep_maps is False
    default = gui.headless_options(build_parser().parse_args(["gui"])).engine_config()
    assert default.weights_spotting is True and default.spotting == {}
    assert default.features is None


def test_screenshot_after_quit_after(qtbot, tmp_path, weights):
    """The real command in its own process (as a user runs it): Qt's event loop runs, the
    window is saved after --quit-after seconds, and the app exits 0."""
    import os
    import subprocess

    from PySide6.QtGui import QImage

    shot = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "rt_sfamnet.cli", "gui", "--source", str(CLIP), "--weights", weights,
         "--settings", str(tmp_path / "s.ini"), "--screenshot", str(shot), "--quit-after", "3",
         "--size", "1200x760"],
        capture_output=True, text=True, env=env, cwd=str(CLIP.parents[1]), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "screenshot saved" in proc.stdout
    img = QImage(str(shot))
    assert (img.width(), img.height()) == (1200, 760)
    # the remembered settings file was written (recent files list has the clip)
    assert "clip.db3" in (tmp_path / "s.ini").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quit-after", "0"], "--quit-after must be > 0"),
        (["--screenshot", "shot.txt"], "must name a .png"),
        (["--size", "big"], "--size must look like"),
        (["--spot", "k_micro"], "--spot expects KEY=VALUE"),
        (["--spot", "k_mikro=2"], "unknown key(s) ['k_mikro']"),
    ],
)
def test_bad_options_exit_2(argv, message, capsys):
    assert main(["gui", *argv]) == 2
    assert message in capsys.readouterr().err


def test_spotting_overrides_parse_json_values():
    assert parse_overrides(["k_micro=2", "variant=paper", "micro_threshold=0.6",
                                   "video_threshold=null"]) == {
        "k_micro": 2, "variant": "paper", "micro_threshold": 0.6, "video_threshold": None}


def test_headless_fallback_passes_the_flow_mode_on(monkeypatch, tmp_path, capsys):
    import json

    from tests.weights_helpers import save_untrained

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.chdir(tmp_path)
    optical = save_untrained(tmp_path / "optical.safetensors")
    code = main(["gui", "--source", "sim:duration=0.5", "--weights", str(optical),
                 "--flow-mode", "optical", "--zero-depth-experiment"])
    assert code == 0, capsys.readouterr().err[-3000:]
    summary = json.loads((tmp_path / "out" / "demo" / "summary.json").read_text())
    assert summary["features"]["mode"] == "optical"
    # the simulator has depth: the experiment flag changes nothing and says so
    assert summary["zero_depth_experiment"] is False and summary["depth"] is True
