"""Weights files: our safetensors format, official .pkl import, clear errors."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch

from rt_sfamnet.errors import WeightsError
from rt_sfamnet.model import SFAMNet
from rt_sfamnet.predictor import Predictor
from rt_sfamnet.weights import (
    WeightsMeta,
    default_weights_path,
    import_official,
    load_weights,
    read_meta,
    save_weights,
)


def _official(reference_dir, emo: int, name: str = "subject_1.pkl"):
    return reference_dir / "sfamnet-official-weights" / f"{emo}emo" / name


def test_roundtrip_safetensors(tmp_path):
    torch.manual_seed(0)
    m = SFAMNet(7)
    meta = WeightsMeta(emotions=7, flow_mode="scene", input_scale=50.0, frame_skip=1,
                       provenance={"run": "test", "folds": [1, 2]})
    path = save_weights(m, tmp_path / "w.safetensors", meta)
    m2, meta2 = load_weights(path)
    assert meta2 == meta
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k
    assert read_meta(path).input_scale == 50.0
    assert "millimetres" in WeightsMeta(emotions=4, flow_mode="hybrid").units


def test_load_official_pkl_and_import(reference_dir, tmp_path):
    pkl = _official(reference_dir, 4)
    model, meta = load_weights(pkl, emotions=4)
    assert meta.emotions == 4 and meta.provenance["file"] == "subject_1.pkl"
    out = tmp_path / "official.safetensors"
    import_official(pkl, out, 4)
    model2, meta2 = load_weights(out, emotions=4)
    ref = np.load(_official(reference_dir, 4, "subject_1_expected.npz"))
    maps = np.stack([ref["u"], ref["v"], ref["w"]], axis=1)
    scores, probs = Predictor(model2, meta2, device="cpu").predict(maps)
    np.testing.assert_allclose(scores, ref["spot"][:, 0], atol=1e-5)
    expected = torch.softmax(torch.from_numpy(ref["logits"]), 1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    # emotions inferred when not given
    m7, meta7 = load_weights(_official(reference_dir, 7))
    assert m7.emotions == 7 and meta7.emotions == 7


def test_wrong_emotions_is_clear(reference_dir, tmp_path):
    with pytest.raises(WeightsError, match="7-emotion network.*4 emotions"):
        load_weights(_official(reference_dir, 7), emotions=4)
    out = tmp_path / "w7.safetensors"
    import_official(_official(reference_dir, 7), out, 7)
    with pytest.raises(WeightsError, match="7-emotion"):
        load_weights(out, emotions=4)


@pytest.mark.parametrize("content", [b"hello, not a checkpoint\n", bytes(range(256)) * 20, b""])
def test_not_a_checkpoint(tmp_path, content):
    p = tmp_path / "bad.pkl"
    p.write_bytes(content)
    with pytest.raises(WeightsError, match="bad.pkl"):
        load_weights(p, emotions=4)


def test_zip_that_is_not_torch(tmp_path):
    p = tmp_path / "z.pkl"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(WeightsError, match="not a loadable PyTorch checkpoint"):
        load_weights(p, emotions=4)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_malicious_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pkl"
    torch.save({"x": _Evil(str(marker))}, p)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="weights_only"):
        load_weights(p, emotions=4)
    assert not marker.exists()
    raw = tmp_path / "evil_raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil(str(marker)), protocol=2))
    with pytest.raises(WeightsError):
        load_weights(raw, emotions=4)
    assert not marker.exists()


def test_wrong_layout_checkpoints(tmp_path):
    sd = SFAMNet(4).state_dict()
    p = tmp_path / "missing.pt"
    torch.save({k: v for k, v in sd.items() if not k.startswith("conv2")}, p)
    with pytest.raises(WeightsError, match="missing keys"):
        load_weights(p)
    bad = dict(sd)
    bad["conv1.weight"] = torch.zeros(8, 9, 3, 3)
    torch.save(bad, p)
    with pytest.raises(WeightsError, match="wrong shape.*conv1.weight"):
        load_weights(p)
    torch.save([1, 2, 3], p)
    with pytest.raises(WeightsError, match="state_dict"):
        load_weights(p)
    torch.save({"module." + k: v for k, v in sd.items()}, p)  # DataParallel prefix accepted
    assert load_weights(p, emotions=4)[0].emotions == 4


def test_safetensors_without_metadata(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in SFAMNet(4).state_dict().items()}, str(p))
    with pytest.raises(WeightsError, match="without rt-sfamnet metadata"):
        load_weights(p)


def test_default_weights_path(tmp_path, monkeypatch):
    p4 = default_weights_path(4)
    assert p4.name == "sfamnet-4emo.safetensors" and p4.parent.name == "weights"
    assert default_weights_path(7).name == "sfamnet-7emo.safetensors"
    import rt_sfamnet.weights as w

    monkeypatch.setattr(w, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsError, match="weights import"):
        w.default_weights_path(4, must_exist=True)
    with pytest.raises(WeightsError, match="rt-sfamnet train"):
        Predictor.from_file(None, emotions=7)
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(tmp_path / "nope.safetensors")


# ---------------------------------------------------------------- training data (issue 21 §5)

def _with_provenance(tmp_path, provenance: dict):
    """Weights whose embedded metadata holds ``provenance`` as written by someone else
    (WeightsMeta would refuse to write a bad value)."""
    return _with_meta(tmp_path, "other",
                      {"emotions": 4, "flow_mode": "optical", "provenance": provenance})


def _with_meta(tmp_path, name: str, meta: dict):
    """A weights file whose metadata JSON is ``meta`` as written (not validated on save)."""
    import json

    from safetensors.torch import save_file

    torch.manual_seed(0)
    p = tmp_path / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in SFAMNet(4).state_dict().items()}, str(p),
              metadata={"rt_sfamnet": json.dumps(meta)})
    return p


@pytest.mark.parametrize("value, kinds", [
    ("synthetic", ("synthetic",)), ("casme3", ("casme3",)),
    ("own-recordings", ("own-recordings",)), (["synthetic", "casme3"], ("synthetic", "casme3")),
])
def test_training_data_is_machine_readable(tmp_path, value, kinds):
    p = _with_provenance(tmp_path, {"training_data": value})
    assert read_meta(p).training_data == kinds
    assert load_weights(p)[1].training_data == kinds
    assert read_meta(_with_provenance(tmp_path, {"note": "older file"})).training_data == ()


@pytest.mark.parametrize("bad", ["real people", ["synthetic", "synthetic"], [], 3,
                                 ["casme3", "webcam"]])
def test_unknown_training_data_is_a_clear_error(tmp_path, bad):
    p = _with_provenance(tmp_path, {"training_data": bad})
    with pytest.raises(WeightsError) as err:
        load_weights(p)
    msg = str(err.value)
    assert str(p) in msg and "training_data" in msg and "'own-recordings'" in msg
    assert repr(bad) in msg and "\n" not in msg
    with pytest.raises(WeightsError, match="training_data"):
        WeightsMeta(emotions=4, provenance={"training_data": bad})


def test_merge_training_data():
    from rt_sfamnet.weights import merge_training_data

    assert merge_training_data("synthetic", None) == "synthetic"
    assert merge_training_data("casme3", ["synthetic"], "casme3") == ["synthetic", "casme3"]
    assert merge_training_data(None, ()) is None


def test_official_checkpoints_are_casme3():
    from rt_sfamnet.weights import official_meta

    assert official_meta("x/subject_3.pkl", 4).training_data == ("casme3",)


@pytest.mark.parametrize("emotions", [4, 7])
def test_shipped_weights_say_synthetic_in_both_places(emotions):
    """The embedded metadata and the provenance JSON beside it agree, and the JSON's hash
    is the file's (the header was rewritten with the same tensors)."""
    import hashlib
    import json

    w = default_weights_path(emotions)
    side = json.loads(w.with_suffix(".json").read_text())
    assert side["training_data"] == "synthetic" == read_meta(w).provenance["training_data"]
    assert side["sha256"] == hashlib.sha256(w.read_bytes()).hexdigest()


def test_default_weights_follow_the_source_depth(tmp_path, monkeypatch):
    import rt_sfamnet.weights as w
    from tests.weights_helpers import weights_dir

    folder = weights_dir(tmp_path / "w", optical=False)
    monkeypatch.setattr(w, "WEIGHTS_DIR", folder)
    assert w.default_weights(4, has_depth=True) == folder / "sfamnet-4emo.safetensors"
    for kwargs in ({"has_depth": False}, {"has_depth": True, "flow_mode": "optical"}):
        with pytest.raises(WeightsError, match="optical-flow weights .*missing"):
            w.default_weights(4, **kwargs)
    weights_dir(folder)  # now with the optical weights
    optical = folder / "sfamnet-4emo-optical.safetensors"
    assert w.default_weights(4, has_depth=False) == optical
    assert w.default_weights(4, has_depth=True, flow_mode="optical") == optical
    assert read_meta(optical).flow_mode == "optical"
    with pytest.raises(WeightsError, match="sfamnet-7emo-optical"):
        w.default_weights(7, has_depth=False)

@pytest.mark.parametrize("key, value, expected", [
    ("input_scale", -0.5, "input_scale must be a finite number > 0"),
    ("input_scale", 0.0, "input_scale must be a finite number > 0"),
    ("input_scale", float("nan"), "input_scale must be a finite number > 0"),
    ("input_scale", float("inf"), "input_scale must be a finite number > 0"),
    ("input_scale", "1.0", "input_scale must be a finite number > 0"),
    ("input_scale", True, "input_scale must be a finite number > 0"),
    ("frame_skip", 0, "frame_skip must be an integer >= 1"),
    ("frame_skip", 1.5, "frame_skip must be an integer >= 1"),
    ("units", 3, "units must be text"),
    ("provenance", [1], "provenance must be a JSON object"),
    ("provenance", {"input_clip": float("nan")}, "input_clip .*finite number > 0 or null"),
    ("provenance", {"input_clip": -3}, "input_clip .*finite number > 0 or null"),
])
def test_metadata_values_are_validated_on_load(tmp_path, key, value, expected):
    meta = {"emotions": 4, "flow_mode": "hybrid", "input_scale": 1.0, "frame_skip": 2,
            "provenance": {}, key: value}
    p = _with_meta(tmp_path, "bad", meta)
    for load in (load_weights, read_meta):
        with pytest.raises(WeightsError, match=expected):
            load(p)
    with pytest.raises(WeightsError, match=expected):
        WeightsMeta(**meta)


def test_weights_info_always_prints_strict_json(tmp_path, capsys):
    import json

    from rt_sfamnet.cli import main

    # NaN and infinity in the free-form provenance (e.g. a diverged run's loss) are written
    # as null: the output parses with a strict parser
    p = _with_meta(tmp_path, "nan", {"emotions": 4, "input_scale": 0.25, "provenance": {
        "train_info": {"loss": float("nan"), "best": float("inf")}, "input_clip": 8.0}})
    assert main(["weights", "info", str(p)]) == 0
    text = capsys.readouterr().out

    def refuse(name):
        raise AssertionError(f"{name} in the output")

    d = json.loads(text, parse_constant=refuse)
    assert d["input_scale"] == 0.25 and d["provenance"]["train_info"] == {"loss": None,
                                                                        "best": None}
    assert d["provenance"]["input_clip"] == 8.0
    bad = _with_meta(tmp_path, "neg", {"emotions": 4, "input_scale": -1.0})
    assert main(["weights", "info", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "input_scale must be a finite number > 0, found -1.0" in err[0]


def _ensemble_file(tmp_path, edit=None):
    from safetensors.torch import save_file

    from rt_sfamnet.model import SFAMNetEnsemble
    from rt_sfamnet.weights import METADATA_KEY, WeightsMeta

    torch.manual_seed(1)
    state = SFAMNetEnsemble([SFAMNet(4), SFAMNet(4)], [1.0, 1.5]).state_dict()
    state = {k: v.clone() for k, v in state.items()}
    if edit:
        edit(state)
    p = tmp_path / "ens.safetensors"
    save_file(state, str(p), metadata={METADATA_KEY: WeightsMeta(emotions=4).to_json()})
    return p


def test_ensemble_roundtrip_and_predictor(tmp_path):
    from rt_sfamnet.model import SFAMNetEnsemble

    model, meta = load_weights(_ensemble_file(tmp_path))
    assert isinstance(model, SFAMNetEnsemble) and model.gains.tolist() == [1.0, 1.5]
    pred = Predictor(model, meta, device="cpu")
    scores, probs = pred.predict(np.zeros((2, 3, 42, 42), np.float32))
    assert scores.shape == (2,) and probs.shape == (2, 5)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("gains"), r"needs 'gains' of shape \(2,\)"),
    (lambda s: s.__setitem__("gains", torch.tensor([1.0, -1.0])), "positive and finite"),
    (lambda s: [s.pop(k) for k in list(s) if k.startswith("members.1.")], "members 0..K-1 with K >= 2"),
    (lambda s: s.__setitem__("extra", torch.zeros(1)), r"only members.<k>.\* and gains"),
    (lambda s: s.pop("members.1.fc_spot.bias"), r"\(member 1\): not the SFAMNet release layout"),
    (lambda s: s.__setitem__("members.0.conv1.weight", torch.full((8, 9, 5, 5), float("nan"))),
     r"\(member 0\): 1 tensor\(s\) hold NaN"),
])
def test_damaged_ensemble_files_are_named(tmp_path, edit, message):
    with pytest.raises(WeightsError, match=message):
        load_weights(_ensemble_file(tmp_path, edit))
