"""GPU check of the flow engine: CuPy against NumPy, and GPU timings. Prints one JSON object.

Run on a machine with a CUDA GPU and CuPy (NumPy and CuPy are the only requirements; no
MediaPipe, OpenCV or RealSense: crops are built directly as :class:`rt_sfamnet.features.Crop`
from synthetic RGB-D pairs with known motion).

Checks (each section records its own error and the script carries on):

- ``tvl1`` (presets ``live`` and ``opencv``), ``rgbd`` (presets ``live`` and ``full``) and the
  ``hybrid`` maps: CuPy results against the NumPy/Numba results on the same inputs (max and
  mean absolute difference, end-point difference), and every path's error against the true
  motion. The NumPy reference is computed in the same run when Numba is importable; otherwise
  it is read from ``--reference`` (made on any CPU machine with
  ``python benchmarks/gpu_check.py --make-reference benchmarks/gpu_reference.npz``); without
  either only the ground-truth errors are reported.
- Timings: one 128×128 pair through the ``hybrid`` live path (crops on the host → maps on the
  host; target ≤ 3 ms median), the solvers alone on device-resident inputs, and batched
  extraction (``pair_maps_batch``, pairs/s; target ≥ 5,000).

Usage: ``python benchmarks/gpu_check.py [--n 50] [--batch 1024] [--quick] [--reference F]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:  # rt_sfamnet.config imports tomllib (Python >= 3.11); this script never reads TOML
    import tomllib  # noqa: F401
except ModuleNotFoundError:  # pragma: no cover - only on an older Python of a GPU machine
    import types

    _toml = types.ModuleType("tomllib")
    _toml.TOMLDecodeError = ValueError  # type: ignore[attr-defined]
    sys.modules["tomllib"] = _toml

from rt_sfamnet.features import Crop, FeatureConfig, pair_maps, pair_maps_batch  # noqa: E402
from rt_sfamnet.flow.rgbd import moved_rgbd_pair  # noqa: E402

SIZE = 128
F = 300.0
NOSE = (64.0, 69.0)
DEFAULT_REFERENCE = Path(__file__).resolve().parent / "gpu_reference.npz"


def _motions():
    c = (SIZE - 1) / 2.0
    return [
        lambda x, y: (1.3, -0.7, 2.0),
        lambda x, y: (-(y - c) * 0.02, (x - c) * 0.02, 0.0),
        lambda x, y: (3.0 * np.sin(x / 20.0) * np.cos(y / 25.0), 1.5 * np.cos(x / 30.0),
                      3.0 * np.exp(-((x - 64) ** 2 + (y - 64) ** 2) / 800.0)),
        lambda x, y: (0 * x, -1.0 * np.exp(-((x - 64) ** 2 + (y - 35) ** 2) / 200.0),
                      4.0 * np.exp(-((x - 40) ** 2 + (y - 80) ** 2) / 150.0)),
        lambda x, y: (0.2, 0.15, 0.5),
        lambda x, y: (0.7 + 0 * x, 0.4 - 1.0 * np.exp(-((x - 64) ** 2 / 400.0
                                                        + (y - 30) ** 2 / 60.0)),
                      1.0 + 3.0 * np.exp(-((x - 35) ** 2 + (y - 90) ** 2) / 120.0)),
    ]


def make_inputs() -> dict:
    """Deterministic synthetic pairs: colour, grey, depth of both frames and the true flow."""
    items = [moved_rgbd_pair(fn, SIZE, seed=i) for i, fn in enumerate(_motions())]
    col0 = np.stack([it[0] for it in items])
    z0 = np.stack([it[1] for it in items])
    col1 = np.stack([it[2] for it in items])
    z1 = np.stack([it[3] for it in items])
    z0[0, 30:38, 50:62] = 0  # holes exercise the depth filling
    z1[3, :, :4] = 0
    return {"col0": col0, "z0": z0, "col1": col1, "z1": z1,
            "grey0": _grey(col0), "grey1": _grey(col1),
            "truth": np.stack([it[4] for it in items])}


def _grey(col: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, as OpenCV's RGB2GRAY (no OpenCV needed)."""
    g = col[..., 0] * 0.299 + col[..., 1] * 0.587 + col[..., 2] * 0.114
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


def crops(inp: dict, idx: int) -> tuple[Crop, Crop]:
    c = (SIZE - 1) / 2.0
    a = Crop(inp["grey0"][idx], inp["col0"][idx], inp["z0"][idx], F, F, c, c, NOSE)
    b = Crop(inp["grey1"][idx], inp["col1"][idx], inp["z1"][idx], F, F, c, c, NOSE)
    return a, b


def compute(inp: dict, backend: str) -> dict:
    """All flows and maps of the inputs on one backend (NumPy results)."""
    from rt_sfamnet.flow import rgbd_flow_batch, tvl1_batch
    from rt_sfamnet.flow.backend import to_numpy

    out = {}
    for preset in ("live", "opencv"):
        out[f"tvl1_{preset}"] = to_numpy(tvl1_batch(inp["grey0"], inp["grey1"], backend=backend,
                                                    preset=preset))
    c = (SIZE - 1) / 2.0
    for preset in ("live", "full"):
        out[f"rgbd_{preset}"] = to_numpy(rgbd_flow_batch(inp["col0"], inp["z0"], inp["col1"],
                                                         inp["z1"], F, F, c, c, backend=backend,
                                                         preset=preset))
    pairs = [crops(inp, i) for i in range(len(inp["truth"]))]
    cfg = FeatureConfig(mode="hybrid", backend=backend)
    out["maps_hybrid"] = pair_maps_batch([p[0] for p in pairs], [p[1] for p in pairs], cfg)
    return out


def _diff(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    res = {"max_abs": float(d.max()), "mean_abs": float(d.mean())}
    if a.ndim >= 3 and a.shape[-1] in (2, 3):
        res["epe_mean"] = float(np.sqrt((d[..., :2] ** 2).sum(-1)).mean())
    if a.shape[-1] == 3 and a.ndim == 4:
        res["w_mean_abs_mm"] = float(d[..., 2].mean())
    return res


def _truth_err(flow: np.ndarray, truth: np.ndarray) -> dict:
    inner = (slice(None), slice(8, -8), slice(8, -8))
    epe = np.sqrt(((flow[..., :2] - truth[..., :2]) ** 2).sum(-1))[inner].mean()
    res = {"epe_px": float(epe)}
    if flow.shape[-1] == 3:
        res["w_err_mm"] = float(np.abs(flow[..., 2] - truth[..., 2])[inner].mean())
    return res


def _stats(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"ms_median": round(float(np.median(ms)), 4), "ms_p95": round(float(np.percentile(ms, 95)), 4),
            "ms_min": round(float(ms.min()), 4), "n": int(ms.size)}


def _time_gpu(fn, n: int, sync, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return _stats(times)


def _section(result: dict, name: str, fn) -> None:
    try:
        result[name] = fn()
    except Exception as exc:  # keep going: one broken part must not hide the others
        result[name] = {"error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc().splitlines()[-6:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="timed calls per single-pair setting")
    ap.add_argument("--batch", type=int, default=1024, help="pairs per batched call")
    ap.add_argument("--quick", action="store_true", help="few repetitions")
    ap.add_argument("--reference", type=Path, default=None,
                    help="NumPy reference .npz (default: benchmarks/gpu_reference.npz if present)")
    ap.add_argument("--make-reference", type=Path, default=None, metavar="NPZ",
                    help="compute the NumPy reference on this (CPU) machine, save it, and exit")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.batch = 5, 64

    inp = make_inputs()
    if args.make_reference is not None:
        ref = compute(inp, "numpy")
        np.savez_compressed(args.make_reference, **{f"in_{k}": v for k, v in inp.items()},
                            **{f"ref_{k}": v for k, v in ref.items()})
        print(json.dumps({"reference": str(args.make_reference), "keys": sorted(ref)}))
        return 0

    result: dict = {"machine": {"platform": platform.platform(),
                                "python": platform.python_version()}}
    try:
        import cupy as cp
    except Exception as exc:
        result["error"] = f"CuPy is not importable: {exc}"
        print(json.dumps(result, indent=2))
        return 1
    from rt_sfamnet.flow.backend import cuda_available

    if not cuda_available():
        result["error"] = "CuPy found no usable CUDA device"
        print(json.dumps(result, indent=2))
        return 1
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"]
    result["machine"].update({
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "cupy": cp.__version__, "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
        "numpy": np.__version__})
    sync = cp.cuda.get_current_stream().synchronize

    # --- correctness ---------------------------------------------------------------------
    gpu: dict = {}

    def run_gpu():
        gpu.update(compute(inp, "cupy"))
        return {k: _truth_err(v, inp["truth"]) for k, v in gpu.items() if k != "maps_hybrid"}

    _section(result, "gpu_vs_truth", run_gpu)

    def reference():
        try:
            import numba  # noqa: F401

            return compute(inp, "numpy"), "numpy (Numba) in this run"
        except ImportError:
            pass
        path = args.reference or (DEFAULT_REFERENCE if DEFAULT_REFERENCE.exists() else None)
        if path is None:
            return None, "none (no Numba here and no --reference file)"
        data = np.load(path)
        for k, v in inp.items():
            if not np.array_equal(data[f"in_{k}"], v):
                raise ValueError(f"reference {path} was made from other inputs ({k} differs)")
        return {k[4:]: data[k] for k in data.files if k.startswith("ref_")}, f"file {path}"

    def compare():
        ref, source = reference()
        out: dict = {"reference": source}
        if ref is None or not gpu:
            return out
        for k in gpu:
            out[k] = _diff(gpu[k], ref[k])
        out["reference_vs_truth"] = {k: _truth_err(v, inp["truth"]) for k, v in ref.items()
                                     if k != "maps_hybrid"}
        return out

    _section(result, "gpu_vs_numpy", compare)

    # --- timings ---------------------------------------------------------------------------
    cfg = FeatureConfig(mode="hybrid", backend="cupy")
    c0, c1 = crops(inp, 5)

    def single():
        from rt_sfamnet.flow import rgbd_flow, tvl1

        res = {"hybrid_pair_maps_host_to_host": _time_gpu(lambda: pair_maps(c0, c1, cfg), args.n,
                                                          sync)}
        # the engine's way: crops moved to the GPU once, maps come back to the host
        import dataclasses

        def on_device(c):
            return dataclasses.replace(c, grey=cp.asarray(c.grey), color=cp.asarray(c.color),
                                       depth=cp.asarray(c.depth))

        dc0, dc1 = on_device(c0), on_device(c1)
        res["hybrid_pair_maps_device_crops"] = _time_gpu(lambda: pair_maps(dc0, dc1, cfg),
                                                         args.n, sync)
        res["device_crops_match_host_crops"] = float(np.abs(
            pair_maps(dc0, dc1, cfg) - pair_maps(c0, c1, cfg)).max())
        g0, g1 = cp.asarray(c0.grey), cp.asarray(c1.grey)
        k0, k1 = cp.asarray(c0.color), cp.asarray(c1.color)
        d0, d1 = cp.asarray(c0.depth), cp.asarray(c1.depth)
        res["tvl1_live_device"] = _time_gpu(lambda: tvl1(g0, g1, backend="cupy", preset="live"),
                                            args.n, sync)
        res["rgbd_live_device"] = _time_gpu(
            lambda: rgbd_flow(k0, d0, k1, d1, F, F, 63.5, 63.5, backend="cupy", preset="live"),
            args.n, sync)
        res["rgbd_full_device"] = _time_gpu(
            lambda: rgbd_flow(k0, d0, k1, d1, F, F, 63.5, 63.5, backend="cupy", preset="full"),
            max(3, args.n // 5), sync)
        res["target_hybrid_ms"] = 3.0
        res["met"] = res["hybrid_pair_maps_host_to_host"]["ms_median"] <= 3.0
        return res

    _section(result, "single_pair", single)

    def batched():
        n_items = len(inp["truth"])
        pairs = [crops(inp, i % n_items) for i in range(args.batch)]
        c0s, c1s = [p[0] for p in pairs], [p[1] for p in pairs]
        st = _time_gpu(lambda: pair_maps_batch(c0s, c1s, cfg), max(3, args.n // 10), sync,
                       warmup=1)
        st["batch"] = args.batch
        st["pairs_per_s"] = round(args.batch / (st["ms_median"] / 1e3), 1)
        res = {"hybrid_pair_maps_batch_host_to_host": st}
        # the solvers alone, inputs already on the device
        from rt_sfamnet.flow import rgbd_flow_batch, tvl1_batch

        idx = np.arange(args.batch) % n_items
        g0, g1 = cp.asarray(inp["grey0"][idx]), cp.asarray(inp["grey1"][idx])
        k0, k1 = cp.asarray(inp["col0"][idx]), cp.asarray(inp["col1"][idx])
        d0, d1 = cp.asarray(inp["z0"][idx]), cp.asarray(inp["z1"][idx])
        t = _time_gpu(lambda: tvl1_batch(g0, g1, backend="cupy", preset="live"),
                      max(3, args.n // 10), sync, warmup=1)
        t["pairs_per_s"] = round(args.batch / (t["ms_median"] / 1e3), 1)
        res["tvl1_live_batch_device"] = t
        r = _time_gpu(lambda: rgbd_flow_batch(k0, d0, k1, d1, F, F, 63.5, 63.5, backend="cupy",
                                              preset="live"), max(3, args.n // 10), sync,
                      warmup=1)
        r["pairs_per_s"] = round(args.batch / (r["ms_median"] / 1e3), 1)
        res["rgbd_live_batch_device"] = r
        res["target_pairs_per_s"] = 5000
        res["met"] = st["pairs_per_s"] >= 5000
        return res

    _section(result, "batched", batched)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
