"""``rt-sfamnet weights import|info``."""

from __future__ import annotations

import json

from rt_sfamnet.cli import main
from rt_sfamnet.weights import load_weights


def test_import_and_info(reference_dir, tmp_path, capsys):
    pkl = reference_dir / "sfamnet-official-weights" / "4emo" / "subject_2.pkl"
    out = tmp_path / "s2.safetensors"
    assert main(["weights", "import", str(pkl), "--emotions", "4", "--out", str(out)]) == 0
    model, meta = load_weights(out)
    assert meta.emotions == 4 and meta.provenance["file"] == "subject_2.pkl"
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
