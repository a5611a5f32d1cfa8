"""Benchmark: micro- and macro-expression spotting, with emotions, through the real-time engine.

Runs ``rt-sfamnet analyze`` (live feature extraction, streaming spotter, the spotting values
stored in the weights) on

- ``demo``: the demo recipe (``recordings/demo_recipe.toml``: 8 ME, 4 MaE, identity "ava");
- ``fresh``: a recording no training ever saw, generated here from a recipe with another
  seed (4242) and an identity outside the synthetic training set ("mae": the training
  dataset's subjects 1-8 use identities 0-7): 5 ME and 4 MaE at fixed onsets, with the
  simulator's own timing rules (rise, hold, fall and amplitude drawn from the seed).

and prints one JSON object: per recording the MEGC metrics, the number of MaE spotted
(IoU >= 0.5, one-to-one) and how many of those carry the right 4-class emotion, and the
issue's targets (>= 3 of 4 MaE spotted, each with the right emotion; ME F1 >= 0.55).

Usage::

    python benchmarks/mae_spotting.py [--weights FILE] [--only demo|fresh] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: (type, emotion, onset seconds) of the fresh recording: 4 MaE and 5 ME, 7 emotions covered.
FRESH = [("micro", "sad", 2.0), ("macro", "happy", 4.5), ("micro", "surprise", 9.0),
         ("macro", "anger", 11.5), ("micro", "happy", 16.0), ("macro", "fear", 18.5),
         ("micro", "disgust", 23.0), ("macro", "surprise", 25.5), ("micro", "others", 30.0)]


def fresh_recipe(path: Path, seed: int = 4242, identity: str = "mae", duration_s: float = 33.0) -> Path:
    """Write the fresh recording's recipe TOML (timings drawn by the simulator from ``seed``)."""
    lines = [f"seed = {seed}", f'identity = "{identity}"', "width = 640", "height = 480", "fps = 30",
             f"duration_s = {duration_s}", "blinks = true", "head_motion = 1.0", ""]
    for typ, emo, onset in FRESH:
        lines += ["[[expression]]", f'type = "{typ}"', f'emotion = "{emo}"', f"onset_s = {onset}", ""]
    path.write_text("\n".join(lines))
    return path


def mae_counts(gt, pred) -> dict:
    """MaE spotted (MEGC one-to-one, IoU >= 0.5) and how many carry the GT's 4-class emotion."""
    from rt_sfamnet.metrics import macro_emotion_accuracy, macro_emotion_of, max_matching

    g = [iv for iv in gt if iv.type == "macro"]
    p = [iv for iv in pred if iv.type == "macro"]
    matches = max_matching([(x.onset, x.offset) for x in g], [(x.onset, x.offset) for x in p])
    emo = macro_emotion_accuracy(gt, pred, 4) or {"correct": 0}
    return {"mae": len(g), "spotted": len(matches), "right_emotion": emo["correct"],
            "false_mae": len(p) - len(matches),
            "pairs": [{"gt": [g[i].onset, g[i].offset, macro_emotion_of(g[i])],
                       "pred": [p[j].onset, p[j].offset, p[j].emotion], "iou": round(v, 3)}
                      for i, j, v in matches]}


def recipe_truth(recipe: Path) -> list:
    """The ground truth the simulated source gives for ``recipe`` (subject "sim", video
    "seed<seed>", with each MaE's ``prototype``)."""
    from rt_sfamnet.sim.recipe import load_recipe, script_from_recipe
    from rt_sfamnet.sim.script import script_intervals

    rc = load_recipe(recipe)
    return script_intervals(script_from_recipe(rc), "sim", f"seed{rc.seed}")


def analyse(recipe: Path, out: Path, weights: str | None) -> dict:
    from rt_sfamnet.cli import main
    from rt_sfamnet.intervals import read_intervals

    args = ["analyze", f"sim:recipe={recipe}", "--out", str(out)]
    if weights:
        args += ["--weights", weights]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # analyze's own summary lines: keep stdout JSON
        rc = main(args)
    seconds = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    pred = read_intervals(out / "events.csv")
    gt = recipe_truth(recipe)
    metrics = summary.get("metrics", {})
    megc = metrics.get("megc", metrics)
    counts = mae_counts(gt, pred)
    me_f1 = float(megc.get("micro", {}).get("f1", 0.0))
    return {"rc": rc, "seconds": round(seconds, 1), "me": megc.get("micro"), "mae_metrics": megc.get("macro"),
            "overall": megc.get("overall"), "macro_emotion": megc.get("macro_emotion"),
            "mae_spotting": counts, "spotting_values": summary.get("spotting"),
            "targets": {"mae_spotted_ge_3_of_4": counts["spotted"] >= 3,
                        "spotted_mae_right_emotion": counts["right_emotion"] == counts["spotted"] > 0,
                        "me_f1_ge_0.55": me_f1 >= 0.55}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None, help="weights file (default: the bundled 4-class)")
    ap.add_argument("--only", choices=("demo", "fresh"), default=None)
    ap.add_argument("--out", default=None, help="keep the analyze folders here")
    a = ap.parse_args(argv)
    root = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="mae_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    result = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}", "runs": {}}
    runs = []
    if a.only in (None, "demo"):
        runs.append(("demo", REPO / "recordings" / "demo_recipe.toml"))
    if a.only in (None, "fresh"):
        runs.append(("fresh", fresh_recipe(root / "fresh_recipe.toml")))
    for name, recipe in runs:
        result["runs"][name] = analyse(recipe, root / name, a.weights)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
