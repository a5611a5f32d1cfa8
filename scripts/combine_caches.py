"""Combine feature caches made with the same extraction settings into one, for training on
several datasets at once (e.g. the plain and the realistic synthetic datasets, or your own
recordings next to a synthetic set).

Each input is ``CACHE=PREFIX``: its subjects become ``PREFIX<subject>`` in the output, so two
datasets that both number their subjects ``spNO.1 ...`` stay apart (LOSO keeps each one whole).
Every video folder is copied as it is (its ``.npy`` files keep their SHA-256, which ``train``
checks); only the subject names inside ``index.json`` are rewritten.

Usage::

    python scripts/combine_caches.py --out cache/mix cache/synth8=s8- cache/real6=r6-
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from pathlib import Path

#: meta.json keys that must agree between the inputs
SAME = ("version", "dataset", "flow", "frame_skip", "k_sw", "fps", "float16", "input_scale",
        "features")


def combine(out: Path, inputs: list[tuple[Path, str]]) -> dict:
    """Copy the caches ``inputs`` (folder, subject prefix) into the new cache ``out``."""
    if out.exists():
        raise SystemExit(f"{out} exists: choose a new folder")
    metas = [json.loads((c / "meta.json").read_text()) for c, _ in inputs]
    for (c, _), m in zip(inputs[1:], metas[1:], strict=True):
        diff = [k for k in SAME if m.get(k) != metas[0].get(k)]
        if diff:
            raise SystemExit(f"{c} was extracted with other settings than {inputs[0][0]}: {diff}")
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    n = 0
    for cache, prefix in inputs:
        for vdir in sorted((cache / "videos").glob("*/*")):
            if not vdir.is_dir() or vdir.name.startswith("."):
                continue
            subject = prefix + vdir.parent.name
            dst = tmp / "videos" / subject / vdir.name
            shutil.copytree(vdir, dst)
            index = json.loads((dst / "index.json").read_text())
            for iv in index.get("intervals", []):
                iv["subject"] = subject
            (dst / "index.json").write_text(json.dumps(index))
            n += 1
    meta = {**metas[0], "root": None, "id": uuid.uuid4().hex,
            "combined_from": [{"cache": str(c), "root": m.get("root"), "prefix": p}
                              for (c, p), m in zip(inputs, metas, strict=True)]}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    tmp.rename(out)
    return {"videos": n, "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("inputs", nargs="+", help="CACHE=PREFIX")
    args = p.parse_args(argv)
    pairs = []
    for item in args.inputs:
        cache, sep, prefix = item.partition("=")
        if not sep or not prefix:
            raise SystemExit(f"expected CACHE=PREFIX, found {item!r}")
        pairs.append((Path(cache), prefix))
    print(json.dumps(combine(args.out, pairs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
