"""``rt-sfamnet weights import|info``."""

from __future__ import annotations

import json

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.weights import load_weights


def test_import_and_info(reference_dir, tmp_path, capsys):
    pkl = reference_dir / "sfamnet-official-weights" / "4emo" / "subject_2.pkl"
    out = tmp_path / "s2.safetensors"
    assert main(["weights", "import", str(pkl), "--emotions", "4", "--out", str(out)]) == 0
    model, meta = load_weights(out)
    assert meta.emotions == 4 and meta.provenance["file"] == "subject_2.pkl"
    assert meta.training_data == ("casme3",)  # real RGB-D faces (issue 21 §5)
    capsys.readouterr()
    assert main(["weights", "info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"] == 7249 and info["emotions"] == 4


def test_import_wrong_emotions(reference_dir, tmp_path, capsys):
    pkl = reference_dir / "sfamnet-official-weights" / "7emo" / "subject_2.pkl"
    out = tmp_path / "x.safetensors"
    assert main(["weights", "import", str(pkl), "--emotions", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "7-emotion network" in err and "4 emotions" in err
    assert not out.exists()


def test_import_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "notes.pkl"
    bad.write_text("these are not weights\n")
    assert main(["weights", "import", str(bad), "--emotions", "4",
                 "--out", str(tmp_path / "o.safetensors")]) == 2
    assert "not a PyTorch checkpoint" in capsys.readouterr().err


def _saved(tmp_path, fill=None):
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(0)
    model = SFAMNet(4)
    if fill is not None:
        with torch.no_grad():
            for prm in model.parameters():
                prm.fill_(fill)
    return save_weights(model, tmp_path / "w.safetensors", WeightsMeta(emotions=4))


@pytest.mark.parametrize("fill", [float("nan"), float("inf")])
def test_info_refuses_non_finite_weights(tmp_path, capsys, fill):
    path = _saved(tmp_path, fill)
    assert main(["weights", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NaN or infinite values" in err and "w.safetensors" in err


def test_one_nan_is_enough_to_refuse(tmp_path):
    from safetensors.torch import load_file, save_file

    from rt_sfamnet.errors import WeightsError
    from rt_sfamnet.weights import METADATA_KEY, WeightsMeta, load_weights

    path = _saved(tmp_path)
    state = load_file(str(path))
    state["fc_recog.weight"][0, 0] = float("nan")
    save_file(state, str(path), metadata={METADATA_KEY: WeightsMeta(emotions=4).to_json()})
    with pytest.raises(WeightsError, match=r"1 tensor\(s\) hold NaN.*fc_recog.weight"):
        load_weights(path)


def test_unsafe_pickle_is_refused_without_torch_hint(tmp_path, capsys):
    import os

    import torch

    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    pkl = tmp_path / "evil.pkl"
    torch.save({"fc_recog.weight": Evil()}, pkl)
    for argv in (["weights", "info", str(pkl)],
                 ["weights", "import", str(pkl), "--emotions", "4",
                  "--out", str(tmp_path / "o.safetensors")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "refused" in err and "posix.system" in err
        assert "weights_only=False" not in err and "False" not in err and "safe_globals" not in err
    assert not marker.exists()


@pytest.mark.parametrize("where", ["folder", "under_file", "proc"])
def test_import_unwritable_out_is_one_line_and_leaves_nothing(reference_dir, tmp_path, capsys,
                                                              where):
    pkl = reference_dir / "sfamnet-official-weights" / "4emo" / "subject_2.pkl"
    if where == "folder":
        out = tmp_path / "w.safetensors"
        out.mkdir()
    elif where == "under_file":
        (tmp_path / "plain").write_text("x")
        out = tmp_path / "plain" / "w.safetensors"
    else:
        out = "/proc/rt-sfamnet-w/w.safetensors"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["weights", "import", str(pkl), "--emotions", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the weights file" in err and str(out) in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_import_on_a_failing_filesystem_leaves_no_temporary(reference_dir, tmp_path, capsys,
                                                            monkeypatch):
    import os

    pkl = reference_dir / "sfamnet-official-weights" / "4emo" / "subject_2.pkl"

    def readonly(*a, **k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", readonly)
    assert main(["weights", "import", str(pkl), "--emotions", "4",
                 "--out", str(tmp_path / "w.safetensors")]) == 2
    assert "Read-only file system" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
