"""Fixtures of the GUI tests: a window with temporary settings (factories: helpers.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")


@pytest.fixture
def settings(tmp_path):
    from ui.settings import AppSettings

    return AppSettings(tmp_path / "settings.ini")


@pytest.fixture
def window(qtbot, settings):
    """A MainWindow with temporary settings and no source opened."""
    from ui.app import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.close()


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory) -> str:
    from tests.ui.helpers import weights_for_tests

    return weights_for_tests(tmp_path_factory.mktemp("weights"))
