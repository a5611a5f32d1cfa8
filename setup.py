"""Build hook: the wheel carries the default weights and the demo recipes as package data.

The repository keeps ``weights/`` and ``recordings/`` at its top level (where people look for
them). When a wheel is built, the files the app reads at run time are copied into
``rt_sfamnet/_data/weights/`` and ``rt_sfamnet/_data/recordings/`` inside the build tree, so
that :func:`rt_sfamnet.resources.data_dir` finds them in a wheel install. Editable installs
skip the copy and read the top-level folders in place. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGE_DATA = {
    "weights": ("*.safetensors", "*.json"),
    "recordings": ("*_recipe.toml", "demo_gt.csv"),
}


class BuildPyWithData(build_py):
    """``build_py`` that also copies the top-level data folders into ``rt_sfamnet/_data``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for kind, patterns in PACKAGE_DATA.items():
            target = Path(self.build_lib) / "rt_sfamnet" / "_data" / kind
            files = sorted({p for pat in patterns for p in (ROOT / kind).glob(pat)})
            if kind == "weights" and not files:
                raise RuntimeError(f"no default weights in {ROOT / kind}: nothing to package")
            target.mkdir(parents=True, exist_ok=True)
            for src in files:
                self.copy_file(str(src), str(target / src.name))


setup(cmdclass={"build_py": BuildPyWithData})
