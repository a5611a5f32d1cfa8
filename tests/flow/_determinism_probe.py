"""Print sha256 digests of the CPU flow outputs on fixed small inputs (run as a subprocess by
tests/flow/test_determinism.py under different compile settings: cache state, target CPU,
thread count)."""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np


def _digest(a) -> str:
    a = np.ascontiguousarray(np.asarray(a))
    return hashlib.sha256(a.tobytes()).hexdigest()


def main(workers: int) -> dict:
    from rt_sfamnet.features import Crop, FeatureConfig, pair_maps
    from rt_sfamnet.flow import rgbd_flow, rgbd_flow_batch, tvl1, tvl1_batch
    from rt_sfamnet.flow import tvl1 as tvl1_module
    from rt_sfamnet.flow.rgbd import moved_rgbd_pair

    tvl1_module._cpu_workers = lambda: workers  # threads of tvl1_batch's pool

    def motion(x, y):
        return (0.6 + 0.3 * np.sin(x / 9.0), -0.4 + 0.2 * np.cos(y / 7.0),
                1.5 * np.sin(x / 11.0))

    size = 64
    pairs = [moved_rgbd_pair(motion, size, seed=s) for s in (0, 1)]
    grey = [(np.asarray(p[0]).mean(axis=-1).astype(np.uint8),
             np.asarray(p[2]).mean(axis=-1).astype(np.uint8)) for p in pairs]
    f = 150.0
    c = (size - 1) / 2
    out = {}
    g0, g1 = grey[0]
    out["tvl1"] = _digest(tvl1(g0, g1, backend="numpy"))
    out["tvl1_live"] = _digest(tvl1(g0, g1, backend="numpy", preset="live"))
    out["tvl1_gamma"] = _digest(tvl1(g0, g1, backend="numpy", gamma=0.1, median_filtering=3))
    out["tvl1_batch"] = _digest(tvl1_batch(np.stack([g[0] for g in grey]),
                                           np.stack([g[1] for g in grey]), backend="numpy"))
    I0, Z0, I1, Z1, _ = pairs[0]
    for preset in ("full", "live"):
        out[f"rgbd_{preset}"] = _digest(rgbd_flow(I0, Z0, I1, Z1, f, f, c, c, backend="numpy",
                                                  preset=preset))
    out["rgbd_batch"] = _digest(rgbd_flow_batch(
        np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]),
        np.stack([p[2] for p in pairs]), np.stack([p[3] for p in pairs]),
        f, f, c, c, backend="numpy", preset="live", workers=workers))
    c0 = Crop.from_arrays(I0, Z0, f, f, c, c, (c, c + 3))
    c1 = Crop.from_arrays(I1, Z1, f, f, c, c, (c, c + 3))
    out["pair_maps"] = _digest(pair_maps(c0, c1, FeatureConfig(
        mode="hybrid", backend="numpy", crop_size=size, map_size=21)))
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
