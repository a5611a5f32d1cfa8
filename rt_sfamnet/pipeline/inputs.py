"""Which weights fit a source, and the labels that say what really ran.

Two rules live here, used by ``rt-sfamnet analyze``, :func:`rt_sfamnet.analyze` and the GUI
through the :class:`~rt_sfamnet.pipeline.Engine`:

- **The automatic choice of weights** (:func:`choose_weights`): weights the user names are
  used as they are; otherwise :func:`rt_sfamnet.weights.default_weights` picks the
  optical-flow network for a source without depth (``Source.has_depth`` False: a video, a
  webcam, a colour-only frame folder) or when flow mode ``"optical"`` is asked for, and the
  RGB-D default otherwise. Depth-trained weights on a source without depth are refused by
  :func:`~rt_sfamnet.pipeline.settings.resolve_settings` unless the run is the labelled
  zero-depth experiment.
- **Honest labels** (:func:`run_labels`): whether the source had depth, what the network
  was fed (``"no depth: optical-flow model"``), what the weights were trained on
  (``provenance["training_data"]``) and a warning when weights trained on synthetic faces
  only analyse a source that is not simulated (:func:`is_simulated`).

A source is *simulated* when it is the simulator or a recording the simulator wrote. Both
say so through their ground truth: the simulator's intervals, and the ``<stem>.gt.csv``
sidecar ``rt-sfamnet simulate`` writes beside its recordings, name the subject ``"sim"``. So
a source whose ground truth is known and names only subject ``"sim"`` (or no interval at
all) is simulated; a camera, a webcam, a video, a frame folder and a recording without that
sidecar are not. (Frame folders of a synthetic dataset carry their ground truth in the
dataset's annotations, not per folder, so they count as real here.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["NO_DEPTH", "choose_weights", "input_label", "is_simulated", "requested_flow_mode",
           "run_labels", "synthetic_warning", "training_text"]

NO_DEPTH = "no depth: optical-flow model"
"""The label of a run on a source without depth (the GUI, ``summary.json``, the API)."""

SIM_SUBJECT = "sim"
"""The subject the simulator gives its ground truth (:mod:`rt_sfamnet.sim.demo`)."""

_TRAINING_TEXT = {"synthetic": "synthetic faces", "casme3": "CAS(ME)^3",
                  "own-recordings": "own recordings"}


def requested_flow_mode(config: Any) -> str | None:
    """The flow mode the user asked for (``features={"mode": ...}``, ``--flow-mode``), or
    None (the weights' own)."""
    given = getattr(config, "features", None)
    if given is None:
        return None
    if isinstance(given, Mapping):
        return given.get("mode")
    return getattr(given, "mode", None)


def choose_weights(config: Any, source: Any) -> str | Path:
    """The weights file for ``config`` on ``source``: ``config.weights`` when given, else
    :func:`rt_sfamnet.weights.default_weights` for the source's depth and the requested flow
    mode (a WeightsError when that file is missing)."""
    if config.weights:
        return config.weights
    from rt_sfamnet.weights import default_weights

    return default_weights(config.emotions or 4, has_depth=getattr(source, "has_depth", True),
                           flow_mode=requested_flow_mode(config))


def is_simulated(source: Any) -> bool:
    """True for the simulator and the recordings it wrote (see the module doc for the rule)."""
    try:
        gt = source.ground_truth
    except Exception:  # noqa: BLE001 - a sidecar that cannot be read says nothing
        return False
    return gt is not None and all(getattr(iv, "subject", None) == SIM_SUBJECT for iv in gt)


def input_label(settings: Any) -> str:
    """What the network was fed: ``"no depth: optical-flow model"`` on a source without
    depth, the zero-depth experiment, or the depth-using mode on an RGB-D source."""
    mode = settings.features.mode
    if not settings.has_depth:
        if settings.zero_depth_experiment:
            return (f"no depth: zero-depth experiment ({mode} features with w = 0, weights "
                    f"trained with {settings.weights_flow_mode} flow)")
        return NO_DEPTH
    if mode == "optical":
        return "depth available: optical-flow model (depth not used)"
    return f"depth: {mode}-flow model"


def training_text(settings: Any) -> str:
    """``"trained on synthetic faces"``, ``"trained on CAS(ME)^3 + own recordings"``, or
    ``"training data not recorded"``."""
    kinds = tuple(settings.training_data)
    if not kinds:
        return "training data not recorded"
    return "trained on " + " + ".join(_TRAINING_TEXT.get(k, k) for k in kinds)


def synthetic_warning(settings: Any, source: Any) -> str | None:
    """The warning for weights trained on synthetic faces only that analyse a source that is
    not simulated (a camera, a webcam, a video, a recording of a person), else None."""
    if tuple(settings.training_data) != ("synthetic",) or is_simulated(source):
        return None
    return ("these weights were trained on synthetic faces only: on a real face their scores "
            "and emotions are not validated")


def run_labels(engine: Any) -> dict[str, Any]:
    """The labels of a run for ``summary.json``, the API's ``summary`` and the GUI.

    Returns:
        ``{"depth": bool, "input": str, "training_data": str | list | None,
        "zero_depth_experiment": bool, "warnings": [str]}``; ``training_data`` as the weights
        record it (None: not recorded).
    """
    from rt_sfamnet.weights import merge_training_data

    s = engine.settings
    warnings = []
    if s.zero_depth_experiment:
        warnings.append(f"zero-depth experiment: {input_label(s)}; not a fair test of the "
                        f"weights")
    note = synthetic_warning(s, engine.source)
    if note:
        warnings.append(note)
    return {"depth": bool(s.has_depth), "input": input_label(s),
            "training_data": merge_training_data(tuple(s.training_data)),
            "zero_depth_experiment": bool(s.zero_depth_experiment), "warnings": warnings}
