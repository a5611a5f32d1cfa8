"""Combine feature caches made with the same extraction settings into one, for training on
several datasets at once (e.g. the plain and the realistic synthetic datasets, or your own
recordings next to a synthetic set).

Each input is ``CACHE=OFFSET``: its subject ``spNO.<n>`` becomes ``spNO.<n + OFFSET>`` in the
output, so two datasets that both number their subjects ``spNO.1 ...`` stay apart (LOSO keeps
each one whole, and subject names keep the form every tool sorts and seeds by).
Every video folder is copied as it is (its ``.npy`` files keep their SHA-256, which ``train``
checks); only the subject names inside ``index.json`` are rewritten.

Usage::

    python scripts/combine_caches.py --out cache/mix cache/synth8=0 cache/real6=100
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: meta.json keys that must agree between the inputs
SAME = ("version", "dataset", "flow", "frame_skip", "k_sw", "fps", "float16", "input_scale",
        "features")


def renumber(subject: str, offset: int) -> str:
    """``spNO.<n>`` -> ``spNO.<n + offset>``."""
    from rt_sfamnet.datasets.subjects import subject_number

    n = subject_number(subject)
    if n >= 1 << 30:
        raise SystemExit(f"subject {subject!r} is not of the form spNO.<n>")
    return f"spNO.{n + offset}"


def combine(out: Path, inputs: list[tuple[Path, int]]) -> dict:
    """Copy the caches ``inputs`` (folder, subject number offset) into the new cache ``out``."""
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
    seen: dict[str, Path] = {}
    for cache, offset in inputs:
        for vdir in sorted((cache / "videos").glob("*/*")):
            if not vdir.is_dir() or vdir.name.startswith("."):
                continue
            subject = renumber(vdir.parent.name, offset)
            if seen.setdefault(subject, cache) != cache:
                raise SystemExit(f"{subject} comes from both {seen[subject]} and {cache}: "
                                 "choose offsets that keep the subjects apart")
            dst = tmp / "videos" / subject / vdir.name
            shutil.copytree(vdir, dst)
            index = json.loads((dst / "index.json").read_text())
            for iv in index.get("intervals", []):
                iv["subject"] = subject
            (dst / "index.json").write_text(json.dumps(index))
            n += 1
    meta = {**metas[0], "root": None, "id": uuid.uuid4().hex,
            "combined_from": [{"cache": str(c), "root": m.get("root"), "offset": p}
                              for (c, p), m in zip(inputs, metas, strict=True)]}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    tmp.rename(out)
    return {"videos": n, "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("inputs", nargs="+", help="CACHE=OFFSET")
    args = p.parse_args(argv)
    pairs = []
    for item in args.inputs:
        cache, sep, offset = item.partition("=")
        if not sep or not offset.isdigit():
            raise SystemExit(f"expected CACHE=OFFSET (an integer), found {item!r}")
        pairs.append((Path(cache), int(offset)))
    print(json.dumps(combine(args.out, pairs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
