"""SFAMNet weights: our ``.safetensors`` files and the authors' official ``.pkl`` checkpoints.

Our format is a safetensors file holding the network's full state_dict (the 77 tensors of the
release layout, float32, plus the int64 ``num_batches_tracked`` counters) with JSON metadata
under the key ``"rt_sfamnet"`` (see :class:`WeightsMeta`): number of emotions, flow mode, the
input scale and units the network expects, frame skip, and free-form provenance.

An ensemble (:class:`~rt_sfamnet.model.SFAMNetEnsemble`, several networks trained alike) is
the same format: its state_dict holds ``members.<k>.<release key>`` for each network and
``gains`` (one input gain per network); each member is checked like a single network.

Official checkpoints are pickled PyTorch state_dicts saved from CUDA tensors. They are read
only through ``torch.load(..., weights_only=True, map_location="cpu")``, which refuses any
pickle that would construct something other than tensors and plain containers; nothing is
ever unpickled without ``weights_only``.

Anything that is not a checkpoint (text, random bytes, a zip that is not a torch file) or a
checkpoint of another shape (a 7-emotion file imported as 4) raises
:class:`~rt_sfamnet.errors.WeightsError` with a message naming the file, what was expected
and what was found.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rt_sfamnet.errors import WeightsError
from rt_sfamnet.features import FLOW_MODES
from rt_sfamnet.model import SFAMNet, SFAMNetEnsemble
from rt_sfamnet.resources import data_dir

METADATA_KEY = "rt_sfamnet"
FORMAT_VERSION = 1
TRAINING_DATA = ("synthetic", "casme3", "own-recordings")
"""Values of ``provenance["training_data"]``: the simulator's faces, CAS(ME)^3 (real RGB-D
faces, e.g. the official checkpoints) or the user's own reviewed recordings. A mix is a list."""

DATASET_TRAINING_DATA = {"synthetic": "synthetic", "synthetic-maps": "synthetic",
                         "casme3": "casme3", "recordings": "own-recordings"}
"""A feature cache's dataset kind (``extract --dataset``) -> its ``training_data`` value."""

WEIGHTS_DIR = data_dir("weights")
"""The default weights' folder: the wheel's package data, else the checkout's ``weights/``
(:func:`rt_sfamnet.resources.data_dir`)."""

DEFAULT_UNITS = {
    "hybrid": "u, v: TV-L1 optical flow in pixels of the 128x128 face crop; w: scene-flow depth "
    "change in millimetres; all multiplied by input_scale",
    "scene": "u, v: scene flow in pixels of the 128x128 face crop; w: depth change in "
    "millimetres; all multiplied by input_scale",
    "optical": "u, v: TV-L1 optical flow in pixels of the 128x128 face crop; w: optical strain "
    "(unitless); all multiplied by input_scale",
}


@dataclass
class WeightsMeta:
    """What a network expects and where it came from (stored as JSON in the weights file).

    Attributes:
        emotions: 4 or 7 (the network has ``emotions + 1`` classes, neutral last).
        flow_mode: ``"hybrid"`` (O_u, O_v, S_w), ``"scene"`` (S_u, S_v, S_w) or ``"optical"``
            (O_u, O_v, O_strain): what the three streams must be fed.
        input_scale: the factor the feature stage multiplies the maps by before inference
            (``FeatureConfig.input_scale``); the network itself never rescales.
        frame_skip: the score sampling step in frames the network was trained with.
        units: human-readable units of the three maps (before ``input_scale``).
        provenance: free-form facts (source file, training run, dataset, licence, date);
            one machine-readable key is checked: ``training_data``, one of
            :data:`TRAINING_DATA` or a list of them (a mix); absent in older files.
        registration: the head-motion compensation the maps were made with
            (``FeatureConfig.registration``: ``"none"`` or ``"landmarks"``).
    """

    emotions: int
    flow_mode: str = "hybrid"
    input_scale: float = 1.0
    frame_skip: int = 2
    units: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    registration: str = "none"

    def __post_init__(self) -> None:
        if self.emotions not in (4, 7):
            raise WeightsError(f"weights metadata: emotions must be 4 or 7, found {self.emotions!r}")
        if self.flow_mode not in FLOW_MODES:
            raise WeightsError(
                f"weights metadata: flow_mode must be one of {FLOW_MODES}, found {self.flow_mode!r}"
            )
        _check_meta_values(self)
        if self.registration not in ("none", "landmarks"):
            raise WeightsError(f"weights metadata: registration must be 'none' or 'landmarks', "
                               f"found {self.registration!r}")
        if not self.units:
            self.units = DEFAULT_UNITS[self.flow_mode]
        if self.provenance is None:
            self.provenance = {}
        if not isinstance(self.provenance, dict):
            raise WeightsError(f"weights metadata: provenance must be a JSON object, found "
                               f"{type(self.provenance).__name__}")
        if "training_data" in self.provenance:
            check_training_data(self.provenance["training_data"])

    @property
    def training_data(self) -> tuple[str, ...]:
        """What the network was trained on (:data:`TRAINING_DATA` values); ``()``: not recorded."""
        value = self.provenance.get("training_data")
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    def to_json(self) -> str:
        """The metadata as strict JSON (a non-finite number in the free-form provenance is
        written as null: the text is always valid JSON)."""
        d = dataclasses.asdict(self)
        d["format_version"] = FORMAT_VERSION
        return json.dumps(_finite_or_null(d), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, where: str = "weights metadata") -> WeightsMeta:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WeightsError(f"{where}: metadata is not valid JSON ({exc})") from None
        if not isinstance(d, dict):
            raise WeightsError(f"{where}: metadata must be a JSON object, found {type(d).__name__}")
        d.pop("format_version", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise WeightsError(f"{where}: unknown metadata key(s) {unknown}")
        if "emotions" not in d:
            raise WeightsError(f"{where}: metadata has no 'emotions'")
        try:
            return cls(**d)
        except TypeError as exc:
            raise WeightsError(f"{where}: bad metadata ({exc})") from None
        except WeightsError as exc:  # name the file instead of "weights metadata"
            msg = str(exc).removeprefix("weights metadata: ")
            raise WeightsError(f"{where}: {msg}") from None


def check_training_data(value: Any, where: str = "weights metadata") -> str | list[str]:
    """``value`` if it is a valid ``provenance["training_data"]``, else a WeightsError."""
    items = [value] if isinstance(value, str) else value
    if (isinstance(items, list) and items and all(isinstance(v, str) for v in items)
            and all(v in TRAINING_DATA for v in items) and len(set(items)) == len(items)):
        return value
    raise WeightsError(
        f"{where}: provenance 'training_data' must be one of {list(TRAINING_DATA)} or a list "
        f"of distinct ones (a mix), found {value!r}")


def merge_training_data(*values: str | list[str] | tuple[str, ...] | None) -> str | list[str] | None:
    """One ``training_data`` value for data that were combined (fine-tuning, mixed caches):
    the single kind, a sorted list for a mix, or None when none is known."""
    kinds: set[str] = set()
    for v in values:
        if v:
            kinds.update([v] if isinstance(v, str) else v)
    if not kinds:
        return None
    ordered = [k for k in TRAINING_DATA if k in kinds]
    return ordered[0] if len(ordered) == 1 else ordered


def optical_weights_path(emotions: int = 4) -> Path:
    """``weights/sfamnet-<emotions>emo-optical.safetensors``: the optical-flow (RGB-only)
    network, the automatic choice for sources without depth."""
    if emotions not in (4, 7):
        raise WeightsError(f"emotions must be 4 or 7, found {emotions!r}")
    return WEIGHTS_DIR / f"sfamnet-{emotions}emo-optical.safetensors"


def default_weights(emotions: int = 4, has_depth: bool = True, flow_mode: str | None = None
                    ) -> Path:
    """The bundled weights for a source, when the user names none (the one automatic choice).

    An RGB-D source gets :func:`default_weights_path` (a hybrid-flow network); a source
    without depth (``has_depth=False``), or ``flow_mode="optical"`` asked for, gets the
    optical-flow network (:func:`optical_weights_path`). Depth-trained weights are never
    chosen for a source without depth (their w stream would be fed zeros).

    Raises:
        WeightsError: the chosen file is missing (one line saying how to get it).
    """
    if flow_mode is not None and flow_mode not in FLOW_MODES:
        raise WeightsError(f"flow mode must be one of {FLOW_MODES}, found {flow_mode!r}")
    if flow_mode == "optical" or (flow_mode is None and not has_depth):
        path = optical_weights_path(emotions)
        if not path.is_file():
            why = ("the source has no depth" if not has_depth
                   else "flow mode 'optical' was asked for")
            raise WeightsError(
                f"{why}, so the optical-flow weights {path} are needed, but they are missing: "
                f"train them (`rt-sfamnet extract --flow optical ...`, then `rt-sfamnet train "
                f"--emotions {emotions} ... --final`) and pass --weights FILE; a depth-trained "
                f"network is never fed zero depth silently")
        return path
    return default_weights_path(emotions, must_exist=True)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_meta_values(meta: WeightsMeta) -> None:
    """The values the pipeline uses must be usable: ``input_scale`` a finite number > 0,
    ``frame_skip`` an integer >= 1, ``units`` text, ``provenance`` an object whose
    ``input_clip`` (the clamp), if given, is a finite number > 0 or null (WeightsError)."""
    import math

    def bad(key: str, expected: str, value: Any) -> WeightsError:
        return WeightsError(f"weights metadata: {key} must be {expected}, found {value!r}")

    if not _number(meta.input_scale) or not math.isfinite(meta.input_scale) \
            or meta.input_scale <= 0:
        raise bad("input_scale", "a finite number > 0", meta.input_scale)
    if not isinstance(meta.frame_skip, int) or isinstance(meta.frame_skip, bool) \
            or meta.frame_skip < 1:
        raise bad("frame_skip", "an integer >= 1", meta.frame_skip)
    if not isinstance(meta.units, str):
        raise bad("units", "text", meta.units)
    if not isinstance(meta.provenance, dict):
        raise bad("provenance", "a JSON object", meta.provenance)
    clip = meta.provenance.get("input_clip")
    if clip is not None and (not _number(clip) or not math.isfinite(clip) or clip <= 0):
        raise bad("provenance.input_clip (the clamp)", "a finite number > 0 or null", clip)


def _finite_or_null(x: Any) -> Any:
    """``x`` with every NaN or infinite float replaced by None (for strict JSON)."""
    import math

    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite_or_null(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite_or_null(v) for v in x]
    return x


def default_weights_path(emotions: int = 4, must_exist: bool = False) -> Path:
    """``weights/sfamnet-<emotions>emo.safetensors`` in the repository.

    With ``must_exist=True`` a missing file raises WeightsError explaining how to get one.
    """
    if emotions not in (4, 7):
        raise WeightsError(f"emotions must be 4 or 7, found {emotions!r}")
    path = WEIGHTS_DIR / f"sfamnet-{emotions}emo.safetensors"
    if must_exist and not path.is_file():
        raise WeightsError(
            f"default weights {path} are missing. Train your own with `rt-sfamnet train "
            f"--emotions {emotions} ...`, or convert an official checkpoint with `rt-sfamnet "
            f"weights import subject_<n>.pkl --emotions {emotions} --out {path}`, or pass a "
            f"weights file explicitly"
        )
    return path


def expected_shapes(emotions: int) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the state_dict of ``SFAMNet(emotions)``."""
    return {k: tuple(v.shape) for k, v in SFAMNet(emotions).state_dict().items()}


def _infer_emotions(state: Mapping[str, torch.Tensor], where: str) -> int:
    w = state.get("fc_recog.weight")
    if not isinstance(w, torch.Tensor) or w.dim() != 2:
        raise WeightsError(f"{where}: no 'fc_recog.weight' matrix; not an SFAMNet checkpoint")
    classes = int(w.shape[0])
    if classes - 1 not in (4, 7):
        raise WeightsError(
            f"{where}: recognition head has {classes} classes; expected 5 (4 emotions + neutral) "
            f"or 8 (7 emotions + neutral)"
        )
    return classes - 1


def _check_state(state: Any, emotions: int | None, where: str) -> tuple[dict[str, torch.Tensor], int]:
    """Validate a state_dict against the release layout; returns (state, emotions)."""
    if not isinstance(state, Mapping):
        raise WeightsError(
            f"{where}: expected a state_dict (a mapping of names to tensors), found "
            f"{type(state).__name__}"
        )
    state = dict(state)
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}  # saved from DataParallel
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{where}: entries that are not named tensors: {bad[:5]}")
    found = _infer_emotions(state, where)
    if emotions is not None and emotions != found:
        raise WeightsError(
            f"{where}: holds a {found}-emotion network (fc_recog has {found + 1} classes) "
            f"but {emotions} emotions were asked for"
        )
    shapes = expected_shapes(found)
    missing = sorted(set(shapes) - set(state))
    unexpected = sorted(set(state) - set(shapes))
    if missing or unexpected:
        raise WeightsError(
            f"{where}: not the SFAMNet release layout: missing keys {missing[:6]}"
            f"{'...' if len(missing) > 6 else ''}, unexpected keys {unexpected[:6]}"
            f"{'...' if len(unexpected) > 6 else ''}"
        )
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {shape})"
        for k, shape in shapes.items()
        if tuple(state[k].shape) != shape
    ]
    if wrong:
        raise WeightsError(f"{where}: tensors of the wrong shape: {', '.join(wrong[:4])}")
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(v.isfinite().all())]
    if broken:
        raise WeightsError(
            f"{where}: {len(broken)} tensor(s) hold NaN or infinite values ({', '.join(broken[:4])}"
            f"{'...' if len(broken) > 4 else ''}); expected finite weights (a diverged training run?)"
        )
    return state, found


def _build(state: dict[str, torch.Tensor], emotions: int, where: str) -> SFAMNet:
    model = SFAMNet(emotions)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # dtype problems not caught by the shape check
        raise WeightsError(f"{where}: cannot load into SFAMNet({emotions}): {exc}") from None
    return model.eval()


ENSEMBLE_PREFIX = "members."


def _is_ensemble(state: Mapping[str, Any]) -> bool:
    return any(isinstance(k, str) and k.startswith(ENSEMBLE_PREFIX) for k in state)


def _build_ensemble(state: dict[str, torch.Tensor], emotions: int | None, where: str
                    ) -> SFAMNetEnsemble:
    """Check and build an ensemble state_dict (``members.<k>.<key>`` and ``gains``)."""
    groups: dict[int, dict[str, torch.Tensor]] = {}
    other = []
    for k, v in state.items():
        if k == "gains":
            continue
        head, _, rest = k.removeprefix(ENSEMBLE_PREFIX).partition(".")
        if k.startswith(ENSEMBLE_PREFIX) and head.isdigit() and rest:
            groups.setdefault(int(head), {})[rest] = v
        else:
            other.append(str(k))
    if other:
        raise WeightsError(f"{where}: an ensemble holds only members.<k>.* and gains; found "
                           f"{sorted(other)[:6]}")
    if sorted(groups) != list(range(len(groups))) or len(groups) < 2:
        raise WeightsError(f"{where}: an ensemble needs members 0..K-1 with K >= 2; found "
                           f"members {sorted(groups)}")
    gains = state.get("gains")
    if not isinstance(gains, torch.Tensor) or tuple(gains.shape) != (len(groups),):
        raise WeightsError(f"{where}: an ensemble of {len(groups)} networks needs 'gains' of shape "
                           f"({len(groups)},), found "
                           f"{tuple(gains.shape) if isinstance(gains, torch.Tensor) else gains!r}")
    if not bool(gains.isfinite().all()) or not bool((gains > 0).all()):
        raise WeightsError(f"{where}: ensemble gains must be positive and finite, found "
                           f"{gains.tolist()}")
    members = []
    for k in range(len(groups)):
        sub, found = _check_state(groups[k], emotions, f"{where} (member {k})")
        emotions = found
        members.append(_build(sub, found, f"{where} (member {k})"))
    return SFAMNetEnsemble(members, [float(g) for g in gains]).eval()


def _file_kind(path: Path) -> str:
    """'safetensors', 'torch-zip', 'pickle' or 'unknown' from the first bytes."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in (2, 3, 4, 5):
        return "pickle"
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 0 < n < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    return "unknown"


def _load_failure(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, without torch's advice to retry
    with ``weights_only=False`` (which would run whatever code the pickle holds)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if lines and lines[0].startswith("Weights only load failed"):
        detail = [ln for ln in lines[1:]
                  if "weights_only" not in ln and "torch.load" not in ln and "http" not in ln]
        # first sentence only: torch goes on to explain how to allow the object
        reason = detail[0].split(". ")[0].rstrip(".") if detail else "objects other than tensors"
        return (f"refused by torch.load(weights_only=True): the checkpoint holds Python objects "
                f"other than tensors and plain containers ({reason[:200]}); only plain "
                f"state_dicts are loaded")
    msg = lines[0] if lines else type(exc).__name__
    return f"not a loadable PyTorch checkpoint ({msg[:200]})"


def load_official_checkpoint(path: str | Path, emotions: int | None = None) -> SFAMNet:
    """Load an official release ``.pkl`` with ``weights_only=True`` on the CPU.

    ``emotions=None`` infers 4 or 7 from the recognition head; a given value is checked.
    """
    p = Path(path)
    where = f"checkpoint {p}"
    if not p.is_file():
        raise WeightsError(f"{where} does not exist")
    kind = _file_kind(p)
    if kind not in ("torch-zip", "pickle"):
        raise WeightsError(
            f"{where}: not a PyTorch checkpoint (expected a torch.save zip or pickle file, "
            f"found {'a safetensors file' if kind == 'safetensors' else 'other content'})"
        )
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise WeightsError(f"{where}: {_load_failure(exc)}") from None
    state, found = _check_state(state, emotions, where)
    return _build(state, found, where)


def official_meta(path: str | Path, emotions: int) -> WeightsMeta:
    """Metadata for a network imported from an official checkpoint."""
    p = Path(path)
    return WeightsMeta(
        emotions=emotions,
        flow_mode="scene",
        input_scale=1.0,
        frame_skip=2,
        units="release scene flow (u, v, w) from the authors' RGB-D flow; units and scale are "
        "not published (see OFFICIAL-SFAMNET section 7)",
        provenance={
            "source": "official SFAMNet release (genbing99/SFAMNet), BSD-3-Clause, "
            "Universiti Malaya",
            "file": p.name,
            "fold": p.stem,
            "training_data": "casme3",
        },
    )


def save_weights(model: SFAMNet | SFAMNetEnsemble, path: str | Path, meta: WeightsMeta) -> Path:
    """Write ``model``'s state_dict and ``meta`` to a ``.safetensors`` file (atomically).

    A path that cannot be written raises OutputError and leaves no temporary file.
    """
    from safetensors.torch import save

    from rt_sfamnet.fileio import atomic_path

    if meta.emotions != model.emotions:
        raise WeightsError(
            f"metadata says {meta.emotions} emotions but the network has {model.emotions}"
        )
    p = Path(path)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    data = save(state, metadata={METADATA_KEY: meta.to_json()})
    with atomic_path(p, "weights file", mkdir=True) as tmp:
        tmp.write_bytes(data)
    return p


def read_meta(path: str | Path) -> WeightsMeta:
    """Only the metadata of one of our ``.safetensors`` files."""
    from safetensors import safe_open

    p = Path(path)
    try:
        with safe_open(str(p), framework="pt") as fh:
            md = fh.metadata() or {}
    except Exception as exc:  # noqa: BLE001
        raise WeightsError(f"weights file {p}: not a readable safetensors file ({exc})") from None
    if METADATA_KEY not in md:
        raise WeightsError(
            f"weights file {p}: safetensors file without rt-sfamnet metadata (key "
            f"{METADATA_KEY!r}); found keys {sorted(md)}"
        )
    return WeightsMeta.from_json(md[METADATA_KEY], f"weights file {p}")


def load_weights(path: str | Path, emotions: int | None = None
                 ) -> tuple[SFAMNet | SFAMNetEnsemble, WeightsMeta]:
    """Load a network and its metadata.

    Args:
        path: one of our ``.safetensors`` files, or an official ``.pkl`` checkpoint.
        emotions: 4 or 7. For ``.safetensors`` it is checked against the metadata; for an
            official checkpoint it is checked against the recognition head (``None``: inferred
            from it).

    Returns:
        ``(model, meta)`` with the model in eval mode on the CPU: an
        :class:`~rt_sfamnet.model.SFAMNetEnsemble` when the file holds several networks.
    """
    from safetensors.torch import load_file

    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file {p} does not exist")
    kind = _file_kind(p)
    if kind in ("torch-zip", "pickle"):
        model = load_official_checkpoint(p, emotions)
        return model, official_meta(p, model.emotions)
    if kind != "safetensors":
        raise WeightsError(
            f"weights file {p}: neither a .safetensors file nor a PyTorch checkpoint "
            f"(first bytes {p.read_bytes()[:8]!r})"
        )
    meta = read_meta(p)
    where = f"weights file {p}"
    if emotions is not None and emotions != meta.emotions:
        raise WeightsError(f"{where}: holds a {meta.emotions}-emotion network, {emotions} were asked for")
    try:
        state = load_file(str(p), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise WeightsError(f"{where}: not a readable safetensors file ({exc})") from None
    if _is_ensemble(state):
        return _build_ensemble(state, meta.emotions, where), meta
    state, found = _check_state(state, meta.emotions, where)
    return _build(state, found, where), meta


def import_official(
    pkl: str | Path, out: str | Path, emotions: int, provenance: Mapping[str, Any] | None = None
) -> WeightsMeta:
    """Convert an official checkpoint to our ``.safetensors`` format; returns the metadata."""
    model = load_official_checkpoint(pkl, emotions)
    meta = official_meta(pkl, emotions)
    if provenance:
        meta.provenance.update(provenance)
        check_training_data(meta.provenance["training_data"])
    save_weights(model, out, meta)
    return meta
