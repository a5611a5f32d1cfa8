"""``rt-sfamnet analyze A B ... --out OUT``: each source into OUT/<stem>/."""

import json
import shutil
from pathlib import Path

import pytest

from rt_sfamnet.cli import main

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "recordings" / "clip.db3"


def _copy_clip(folder: Path, stem: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CLIP, folder / f"{stem}.db3")
    return folder / f"{stem}.db3"


@pytest.mark.slow
def test_several_sources_each_get_their_folder(tmp_path, capsys):
    a = _copy_clip(tmp_path / "in", "first")
    b = _copy_clip(tmp_path / "in2", "second")
    missing = tmp_path / "in" / "third.db3"
    out = tmp_path / "out"
    rc = main(["analyze", str(a), str(missing), str(b), "--out", str(out), "--no-progress",
               "--json", "--spot", "micro_threshold=0.3"])  # the bundled 0.5 misses the clip's ME
    captured = capsys.readouterr()
    assert rc == 2  # one source could not be read; the others were analysed
    assert "third.db3" in captured.err and "does not exist" in captured.err
    summaries = json.loads(captured.out)
    assert [s["source_path"] for s in summaries] == [str(a.resolve()), str(b.resolve())]
    assert {"first", "second"} <= {p.name for p in out.iterdir()}
    ev = [(out / n / "events.csv").read_text().splitlines() for n in ("first", "second")]
    assert len(ev[0]) >= 2  # header + the clip's micro-expression
    assert [ln.split(",")[2:] for ln in ev[0]] == [ln.split(",")[2:] for ln in ev[1]]
    assert ev[0][1].split(",")[1] == "first" and ev[1][1].split(",")[1] == "second"


def test_two_sources_with_one_stem_are_refused_before_any_work(tmp_path, capsys):
    a = _copy_clip(tmp_path / "x", "clip")
    b = _copy_clip(tmp_path / "y", "clip")
    rc = main(["analyze", str(a), str(b), "--out", str(tmp_path / "out"), "--no-progress"])
    assert rc == 2
    assert "would both write" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_gt_video_with_several_sources_is_refused(tmp_path, capsys):
    rc = main(["analyze", "sim", str(CLIP), "--out", str(tmp_path / "o"), "--gt-video", "v"])
    assert rc == 2 and "--gt-video" in capsys.readouterr().err


def test_folder_names():
    from rt_sfamnet.commands.analyze import _folder_name

    assert _folder_name("recordings/clip.db3") == "clip"
    assert _folder_name("sim:seed=3,duration=5") == "sim_seed_3_duration_5"
    assert _folder_name("frames/session1/") == "session1"
