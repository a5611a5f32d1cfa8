"""Cost of the attention maps of one sample (CBAM gates + Grad-CAM of score and emotion).

Prints one JSON object: milliseconds per :class:`rt_sfamnet.attention.AttentionProbe` call
(one forward and two backward passes on a private copy of the network) and, for
comparison, per single-sample ``Predictor.predict``, on random maps, with the default
weights (an untrained network when they are missing) and one PyTorch thread.

Usage::

    python benchmarks/attention.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _times(fn, repeat: int) -> dict:
    fn()  # warm-up
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000.0)
    p50, p95 = np.percentile(ms, [50, 95])
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args(argv)

    import torch

    from rt_sfamnet.attention import AttentionProbe
    from rt_sfamnet.predictor import Predictor

    try:
        predictor = Predictor.from_file(device="cpu", threads=1)
        weights = str(predictor.path)
    except Exception as exc:  # noqa: BLE001 - an untrained network times the same
        from rt_sfamnet.model import SFAMNet
        from rt_sfamnet.weights import WeightsMeta

        torch.manual_seed(0)
        predictor = Predictor(SFAMNet(4), WeightsMeta(emotions=4), device="cpu", threads=1)
        weights = f"untrained (seed 0): {exc}"
    probe = AttentionProbe.from_predictor(predictor)
    maps = np.random.default_rng(0).normal(0, 0.5, (3, 42, 42)).astype(np.float32)
    report = {
        "benchmark": "attention",
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "loadavg": os.getloadavg()},
        "weights": weights,
        "attention_probe": _times(lambda: probe(maps), args.repeat),
        "predict_one": _times(lambda: predictor.predict_one(maps), args.repeat),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
