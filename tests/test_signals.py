"""SIGTERM during ``train`` and ``extract`` (serial, and with ``--workers N`` on Ray) ends
with exit 143 and one "interrupted (SIGTERM)" line: no traceback, no Ray crash dump, no
half-written file. Real processes and real signals; the test waits for a line the process
prints, never for a fixed time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rt_sfamnet.datasets.synthetic import write_map_cache
from rt_sfamnet.signals import Interrupted, interrupt_on_signals, keep_handlers

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return write_map_cache(tmp_path_factory.mktemp("c") / "cache", subjects=3, videos=1,
                           frames=160, me_per_video=2, seed=2).path


def _start(*argv: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), RAY_AUTH_MODE="disabled")
    return subprocess.Popen([sys.executable, "-u", "-m", "rt_sfamnet.cli", *argv], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _term_after(proc: subprocess.Popen, marker: str, timeout: float = 240) -> tuple[str, str]:
    """Read stderr until a line holding ``marker``, send SIGTERM, and collect the rest."""
    seen: list[str] = []
    timer = threading.Timer(timeout, proc.kill)  # only a guard against a hang
    timer.start()
    try:
        for line in proc.stderr:
            seen.append(line)
            if marker in line:
                proc.send_signal(signal.SIGTERM)
                break
        else:
            pytest.fail(f"the process ended before printing {marker!r}: {''.join(seen)}")
        out, err = proc.communicate()
    finally:
        timer.cancel()
    return out, "".join(seen) + err


def _assert_interrupted(proc: subprocess.Popen, err: str, command: str) -> None:
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert f"rt-sfamnet {command}: interrupted (SIGTERM)" in err.splitlines()
    for noise in ("Traceback", "*** SIG", "Aborted", "core dumped", "Fatal Python"):
        assert noise not in err, err


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name or "partial" in p.name)


def test_sigterm_during_serial_train_is_143_with_an_interrupted_line(cache, tmp_path):
    out = tmp_path / "run"
    proc = _start("train", "--cache", str(cache), "--out", str(out), "--steps", "150",
                  "--batch-size", "16", "--no-progress", "--plot-videos", "0")
    _, err = _term_after(proc, "fold 1/3 spNO.1")
    _assert_interrupted(proc, err, "train")
    # the finished fold is whole (laba's checksums are written last), nothing half-written
    assert sorted(p.name for p in (out / "folds").iterdir()) == [
        "spNO.1.checksums", "spNO.1.json", "spNO.1.safetensors"]
    assert _leftovers(out) == []


def test_sigterm_during_train_on_ray_is_143_and_ray_shuts_down(cache, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "run"
    proc = _start("train", "-v", "--cache", str(cache), "--out", str(out), "--steps", "400",
                  "--batch-size", "16", "--no-progress", "--plot-videos", "0",
                  "--workers", "2")
    _, err = _term_after(proc, "Ray tasks started")
    _assert_interrupted(proc, err, "train")
    assert _leftovers(out) == []


def test_sigterm_during_extract_on_ray_is_143(tmp_path):
    pytest.importorskip("ray")
    from rt_sfamnet.sim.dataset import write_dataset

    root = tmp_path / "ds"
    write_dataset(root, 2, 0, videos_per_subject=1, seconds=1.5, width=160, height=120,
                  workers=1)
    cache = tmp_path / "cache"
    proc = _start("extract", "-v", "--dataset", "synthetic", "--root", str(root), "--cache",
                  str(cache), "--no-progress", "--workers", "2")
    _, err = _term_after(proc, "Ray tasks started")
    _assert_interrupted(proc, err, "extract")
    assert _leftovers(cache) == []


def test_interrupt_on_signals_raises_interrupted_and_restores_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info:
        with interrupt_on_signals():
            signal.raise_signal(signal.SIGTERM)
    assert info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_plain_keyboard_interrupt_after_a_signal_keeps_the_signal():
    """Ray's ray.wait turns the handler's exception into a plain KeyboardInterrupt."""
    with pytest.raises(Interrupted) as info:
        with interrupt_on_signals():
            try:
                signal.raise_signal(signal.SIGHUP)
            except Interrupted:
                raise KeyboardInterrupt from None
    assert info.value.signum == signal.SIGHUP


def test_keep_handlers_undoes_a_library_replacing_them():
    def mine(signum, frame):  # pragma: no cover - never called
        pass

    old = signal.signal(signal.SIGTERM, mine)
    try:
        with keep_handlers():
            signal.signal(signal.SIGTERM, lambda s, f: sys.exit(s))  # what ray.init does
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old)
