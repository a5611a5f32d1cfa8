"""The wheel carries the default weights and the recipes as package data; rt_sfamnet.resources
finds them the same way in a checkout and in an installed wheel."""

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rt_sfamnet import resources

REPO = Path(__file__).resolve().parents[1]


def _sha(path: Path | bytes) -> str:
    data = path if isinstance(path, bytes) else path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def _build_tools_ok() -> bool:
    try:
        import setuptools
        import wheel  # noqa: F401
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the checkout (the repository itself stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.db3", "*.lock")
    for name in ("rt_sfamnet", "ui", "weights", "recordings"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("whl")
    # the venv's own setuptools when it is new enough (fast, offline), else pip's isolated
    # build environment (pyproject.toml: setuptools>=77)
    no_iso = ["--no-build-isolation"] if _build_tools_ok() else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *no_iso,
                    "-w", str(out), str(src)], check=True, capture_output=True, timeout=600)
    (whl,) = out.glob("rt_sfamnet-*.whl")
    return whl


def test_wheel_contains_default_weights_and_recipes(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for f in sorted((REPO / "weights").glob("*.safetensors")) + sorted(
                (REPO / "weights").glob("*.json")):
            member = f"rt_sfamnet/_data/weights/{f.name}"
            assert member in names
            assert _sha(z.read(member)) == _sha(f)  # byte-identical
        for name in ("demo_recipe.toml", "clip_recipe.toml", "demo_gt.csv"):
            assert f"rt_sfamnet/_data/recordings/{name}" in names
        assert not [n for n in names if n.endswith(".db3")]  # recordings are not shipped
        assert "ui/app.py" in names


def test_installed_wheel_finds_its_package_data(wheel, tmp_path):
    """Unpack the wheel (what pip does) and import from it: data comes from _data/."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    code = ("import rt_sfamnet.weights as w, rt_sfamnet.sim.demo as d, rt_sfamnet.resources as r;"
            "print(w.default_weights_path(4, must_exist=True)); print(d.recordings_dir());"
            "print(d.demo_dir()); print(r.__file__)")
    env = {"PYTHONPATH": str(site), "RT_SFAMNET_CACHE": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120, check=True).stdout.split("\n")
    assert out[3].startswith(str(site))
    assert out[0] == str(site / "rt_sfamnet" / "_data" / "weights" / "sfamnet-4emo.safetensors")
    assert out[1] == str(site / "rt_sfamnet" / "_data" / "recordings")
    assert out[2] == str(tmp_path / "cache")  # the demo is generated in the cache, not the CWD


def test_checkout_reads_the_top_level_folders():
    if resources.PACKAGED.is_dir():
        pytest.skip("running from an installed wheel")
    assert resources.data_dir("weights") == REPO / "weights"
    assert resources.data_dir("recordings") == REPO / "recordings"
    assert not resources.is_packaged("weights")
    with pytest.raises(ValueError):
        resources.data_dir("elsewhere")


def test_cache_dir_override_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("RT_SFAMNET_CACHE", str(tmp_path))
    assert resources.cache_dir() == tmp_path
    monkeypatch.delenv("RT_SFAMNET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert resources.cache_dir() == tmp_path / "xdg" / "rt-sfamnet"
