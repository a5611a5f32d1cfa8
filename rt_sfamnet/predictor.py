"""Inference on NumPy maps: an :class:`~rt_sfamnet.model.SFAMNet` and its weights' metadata.

:class:`Predictor` sits above both :mod:`rt_sfamnet.model` (the network) and
:mod:`rt_sfamnet.weights` (files and :class:`~rt_sfamnet.weights.WeightsMeta`), so neither of
those imports the other's consumer. Needs PyTorch and NumPy only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from rt_sfamnet.emotions import emotion_names
from rt_sfamnet.model import MAP_SIZE, SFAMNet
from rt_sfamnet.weights import WeightsMeta, default_weights_path, load_weights


@contextmanager
def _onednn_disabled(disable: bool) -> Iterator[None]:
    """Switch oneDNN (mkldnn) convolutions off for the block (process-wide flag, restored)."""
    previous = torch.backends.mkldnn.enabled
    if not disable or not previous:
        yield
        return
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


class Predictor:
    """Inference on NumPy maps with one network and its metadata.

    Args:
        model: an :class:`~rt_sfamnet.model.SFAMNet` (put in eval mode and moved to ``device``).
        meta: the :class:`~rt_sfamnet.weights.WeightsMeta` the weights came with. The
            Predictor does not rescale inputs: ``meta.input_scale``, ``meta.flow_mode`` and
            ``meta.frame_skip`` tell the feature stage (``FeatureConfig``) and the spotter how
            to prepare maps and read scores; the Predictor only checks that ``meta.emotions``
            matches the network and exposes the values.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available, else CPU).
        threads: if given, ``torch.set_num_threads(threads)`` (process-wide). One thread is
            the fastest for single-sample CPU inference on small machines.
        onednn: on the CPU, whether convolutions may use oneDNN (mkldnn). ``False`` (default)
            runs ``predict`` with oneDNN switched off (``torch.backends.mkldnn.flags``, a
            process-wide flag restored afterwards): PyTorch's native kernels are faster for
            this network's 1-9 channel convolutions (see ``docs/benchmarks/model.md``).
            Outputs agree to float rounding either way.
    """

    def __init__(
        self,
        model: SFAMNet,
        meta: WeightsMeta,
        device: str | torch.device | None = None,
        threads: int | None = None,
        onednn: bool = False,
    ) -> None:
        if meta.emotions != model.emotions:
            raise ValueError(
                f"weights metadata says {meta.emotions} emotions but the network has "
                f"{model.emotions}"
            )
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.device = torch.device(device)
        self.onednn = bool(onednn)
        self.model = model.to(self.device).eval()
        self.meta = meta
        self.class_names: tuple[str, ...] = emotion_names(model.emotions)
        self.path: Path | None = None  # the weights file (set by from_file)

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        emotions: int | None = None,
        device: str | torch.device | None = None,
        threads: int | None = None,
    ) -> Predictor:
        """Load weights (ours or an official ``.pkl``) and build a Predictor.

        ``path=None`` uses :func:`~rt_sfamnet.weights.default_weights_path` for ``emotions``
        (4 when not given); a missing default raises ``WeightsError`` saying how to get one.
        """
        if path is None:
            path = default_weights_path(emotions or 4, must_exist=True)
        model, meta = load_weights(path, emotions=emotions)
        predictor = cls(model, meta, device=device, threads=threads)
        predictor.path = Path(path).resolve()
        return predictor

    @property
    def emotions(self) -> int:
        return self.model.emotions

    @property
    def input_scale(self) -> float:
        """The factor the feature stage must apply to maps for these weights."""
        return self.meta.input_scale

    @property
    def flow_mode(self) -> str:
        return self.meta.flow_mode

    @property
    def frame_skip(self) -> int:
        return self.meta.frame_skip

    def predict(self, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score a batch of maps.

        Args:
            maps: ``N x 3 x 42 x 42`` float32 (channels u, v, w as the feature stage orders
                them, already multiplied by ``meta.input_scale``). Other float dtypes are
                converted.

        Returns:
            ``scores`` (N,) float32 in [0, 1] and ``probs`` (N, C) float32, the softmax of the
            logits over :attr:`class_names`.
        """
        arr = np.asarray(maps)
        if arr.ndim != 4 or arr.shape[1:] != (3, MAP_SIZE, MAP_SIZE):
            raise ValueError(
                f"maps must be N x 3 x {MAP_SIZE} x {MAP_SIZE}, found shape {arr.shape}"
            )
        if arr.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros((0, len(self.class_names)), np.float32)
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"maps must be floating point, found dtype {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        onednn_off = self.device.type == "cpu" and not self.onednn
        with torch.inference_mode(), _onednn_disabled(onednn_off):
            x = x.to(self.device)
            spot, logits = self.model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
            probs = torch.softmax(logits, dim=1)
        return (
            spot[:, 0].float().cpu().numpy().astype(np.float32, copy=False),
            probs.float().cpu().numpy().astype(np.float32, copy=False),
        )

    def predict_one(self, maps: np.ndarray) -> tuple[float, np.ndarray]:
        """One ``3 x 42 x 42`` sample -> (score, probs (C,) float32)."""
        arr = np.asarray(maps)
        if arr.shape != (3, MAP_SIZE, MAP_SIZE):
            raise ValueError(f"maps must be 3 x {MAP_SIZE} x {MAP_SIZE}, found shape {arr.shape}")
        scores, probs = self.predict(arr[None])
        return float(scores[0]), probs[0]
