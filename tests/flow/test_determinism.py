"""The CPU flow kernels give the same bits whatever the compile: fresh or cached Numba
compilation, the target CPU (``NUMBA_CPU_NAME=generic``: baseline x86-64, no AVX, no FMA, vs
the host CPU; with NumPy's AVX/FMA kernels disabled and OpenBLAS's Prescott kernels in that
process too), and the number of threads/workers.

Each variant runs ``_determinism_probe.py`` in its own process and prints sha256 digests of
tvl1, tvl1_batch, rgbd_flow (full and live), rgbd_flow_batch and features.pair_maps on fixed
64×64 inputs. Fast-math flags (reassociation, contraction to FMA) made these differ between
the host and the generic target and between fresh and cached compiles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("_determinism_probe.py")
ROOT = Path(__file__).resolve().parents[2]
# NumPy's own SIMD dispatch off as well (pair_maps runs NumPy code around the flows)
NPY_NO_AVX = ("AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR "
              "AVX2 FMA3 F16C AVX")


def _run(cache_dir: Path, workers: int, **env: str) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    e.update(NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT), **env)
    r = subprocess.run([sys.executable, str(PROBE), str(workers)], env=e, cwd=ROOT,
                       capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # two fresh compiles of all flow kernels: ~35 s of CPU time
def test_flows_are_bit_identical_across_compiles_targets_and_threads(tmp_path):
    fresh = _run(tmp_path / "host", 2, NUMBA_NUM_THREADS="2")
    cached = _run(tmp_path / "host", 1, NUMBA_NUM_THREADS="1")
    generic = _run(tmp_path / "generic", 1, NUMBA_CPU_NAME="generic",
                   NPY_DISABLE_CPU_FEATURES=NPY_NO_AVX, OPENBLAS_CORETYPE="Prescott")
    assert set(fresh) == {"tvl1", "tvl1_live", "tvl1_gamma", "tvl1_batch", "rgbd_full",
                          "rgbd_live", "rgbd_batch", "pair_maps"}
    differ = [f"{name}: {what}" for name in fresh
              for what, other in (("cached vs fresh", cached), ("generic vs host", generic))
              if other[name] != fresh[name]]
    assert differ == []
