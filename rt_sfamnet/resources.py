"""Where the package's data lives: default weights, demo recipes, the user's cache folder.

The repository keeps ``weights/`` and ``recordings/`` at its top level. A wheel carries the
files the app needs at run time (the default weights with their provenance, the simulator
recipes and the demo's ground truth) as package data under ``rt_sfamnet/_data/<kind>/``:
``setup.py`` copies them there at build time (see its ``build_py`` hook). An editable
install or a source checkout has no ``_data`` folder and reads the top-level folders in
place. :func:`data_dir` is the one function both kinds of install go through.

Files the app *generates* (the 1.1 GB demo recording) go beside the recipes in a checkout,
and into :func:`cache_dir` (``~/.cache/rt-sfamnet`` on Linux, ``$XDG_CACHE_HOME`` honoured,
the platform's usual folder elsewhere) in a wheel install, never into the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path

KINDS = ("weights", "recordings")

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED = PACKAGE_DIR / "_data"
"""Package data of a wheel install (absent in a checkout / editable install)."""
CHECKOUT = PACKAGE_DIR.parent
"""The repository root when the package is imported from a checkout."""


def data_dir(kind: str) -> Path:
    """The folder holding the ``kind`` files (``"weights"`` or ``"recordings"``).

    The wheel's ``rt_sfamnet/_data/<kind>`` when it exists, else the checkout's ``<kind>/``
    (which may be missing, e.g. weights not built yet: callers report what they lack).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, found {kind!r}")
    packaged = PACKAGED / kind
    if packaged.is_dir():
        return packaged
    return CHECKOUT / kind


def is_packaged(kind: str) -> bool:
    """True when ``kind`` files come from a wheel's package data (read-only install)."""
    return data_dir(kind).parent == PACKAGED


def cache_dir() -> Path:
    """The user's cache folder for rt-sfamnet (``RT_SFAMNET_CACHE`` overrides it)."""
    override = os.environ.get("RT_SFAMNET_CACHE")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("rt-sfamnet", appauthor=False))
