"""resolve_spec, camera_available, demo_source ("auto" / "demo"), and the layering rule
that lets the app use them: nothing under ``ui/`` imports ``rt_sfamnet.commands``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from rt_sfamnet.sources import camera_available, demo_source, resolve_spec, spec

REPO = Path(__file__).resolve().parents[2]


class _Device:
    def __init__(self, serial: str, name: str) -> None:
        self.info = {"serial": serial, "name": name}

    def get_info(self, what):
        import pyrealsense2 as rs

        return self.info["serial" if what == rs.camera_info.serial_number else "name"]


def _fake_context(devices=None, error=None):
    class Context:
        def query_devices(self):
            if error is not None:
                raise error
            return list(devices or [])

    return Context


def test_camera_available_asks_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    rs = pytest.importorskip("pyrealsense2")
    assert camera_available() is False  # nothing is connected here
    monkeypatch.setattr(rs, "context", _fake_context([_Device("123", "Intel RealSense D415")]))
    assert camera_available() is True
    from rt_sfamnet.sources.realsense import connected_cameras

    assert connected_cameras() == [("123", "Intel RealSense D415")]
    monkeypatch.setattr(rs, "context", _fake_context(error=RuntimeError("USB error")))
    assert camera_available() is False


def test_camera_available_is_false_without_pyrealsense2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyrealsense2", None)  # import fails
    assert camera_available() is False


def test_demo_source_or_the_simulator(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr("rt_sfamnet.sim.demo.ensure_demo_recording",
                        lambda path=None: Path("/data/demo.db3"))
    assert demo_source() == str(Path("/data/demo.db3"))

    def broken(path=None):
        raise OSError("disk full")

    monkeypatch.setattr("rt_sfamnet.sim.demo.ensure_demo_recording", broken)
    assert demo_source() == "sim"
    err = capsys.readouterr().err
    assert "the demo recording is unavailable (disk full); using the simulator" in err
    assert err.count("\n") == 1


def test_resolve_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "demo_source", lambda: "/data/demo.db3")
    notes: list[str] = []
    monkeypatch.setattr(spec, "camera_available", lambda: False)
    assert resolve_spec("auto", notes.append) == "/data/demo.db3"
    assert notes == [spec.DEMO_NOTICE]
    assert resolve_spec("demo") == "/data/demo.db3"
    monkeypatch.setattr(spec, "camera_available", lambda: True)
    assert resolve_spec("auto", notes.append) == "camera"
    assert resolve_spec("demo", notes.append) == "/data/demo.db3"
    for other in ("camera", "sim", "sim:seed=2", "clip.db3", "frames/"):
        assert resolve_spec(other, notes.append) == other
    assert notes == [spec.DEMO_NOTICE] * 2


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_the_scan_sees_every_import_form(tmp_path: Path) -> None:
    p = tmp_path / "m.py"
    p.write_text("import rt_sfamnet.commands.gui\nfrom rt_sfamnet import commands\n"
                 "def f():\n    from rt_sfamnet.commands.gui import x\n")
    assert {"rt_sfamnet.commands.gui", "rt_sfamnet.commands",
            "rt_sfamnet.commands.gui.x"} <= _imported_modules(p)


def test_ui_does_not_import_the_command_layer() -> None:
    files = sorted((REPO / "ui").rglob("*.py"))
    assert files, "ui/ not found"
    offenders = {
        str(p.relative_to(REPO)): sorted(n for n in _imported_modules(p)
                                         if n == "rt_sfamnet.commands"
                                         or n.startswith("rt_sfamnet.commands."))
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}
