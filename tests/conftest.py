"""Shared pytest fixtures. Tests need no camera and no GPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def load_script(relpath: str):
    """Import a script of the repository that is not in a package (``benchmarks/x.py``,
    ``scripts/y.py``) as a module."""
    import importlib.util

    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` beside the checkout (official weights, CAS(ME)^3 annotations).

    Skips the test when it is missing; its files are never copied into the repository.
    """
    ref = SHARED / "reference"
    if not ref.is_dir():
        pytest.skip("../shared/reference is not present beside the checkout")
    return ref


@pytest.fixture(scope="session")
def real_faces_dir() -> Path:
    """``../shared/real-faces`` beside the checkout (short clips of a real face, RGB only).

    Skips the test when it is missing; its files are never copied into the repository.
    """
    clips = SHARED / "real-faces"
    if not clips.is_dir():
        pytest.skip("../shared/real-faces is not present beside the checkout")
    return clips


def cuda_available() -> bool:
    try:
        import cupy  # noqa: F401

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA and CuPy")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
