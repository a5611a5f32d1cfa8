"""The session report and per-event figures, built from a real analysis of the test recording.

One ``rt-sfamnet analyze recordings/clip.db3 --attention --report`` run (the clip's
micro-expression is spotted with ``micro_threshold=0.3``) feeds every test.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.cli import main

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "recordings" / "clip.db3"
VOID = {"meta", "img", "br", "link", "input", "hr", "source", "col", "area", "base", "wbr"}
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


class _Checker(HTMLParser):
    """Tag balance, every ``src``/``href``, ``url()`` in styles, ids and table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.srcs: list[str] = []
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.event_rows: list[list[str]] = []  # the src of each img of each events row
        self.styles: list[str] = []
        self._row: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if "src" in a:
            self.srcs.append(a["src"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if "style" in a:
            self.styles.append(a["style"])
        if tag == "tr" and a.get("class") == "event":
            self._row = []
            self.event_rows.append(self._row)
        if tag == "img" and self._row is not None:
            self._row.append(a["src"])
        self._in_style = tag == "style"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag == "tr":
            self._row = None
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def check_html(path: Path) -> _Checker:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    chk = _Checker()
    chk.feed(text)
    chk.close()
    assert chk.errors == [] and chk.stack == [], (chk.errors, chk.stack)
    for src in chk.srcs:
        assert src.startswith("data:image/"), src[:60]
    for ref in chk.hrefs:
        assert not EXTERNAL.match(ref) and not ref.startswith("data:"), ref
        assert (path.parent / ref).is_file(), ref  # links point to files next to the report
    for style in chk.styles:
        for url in re.findall(r"url\(([^)]*)\)", style):
            assert not EXTERNAL.match(url.strip("'\"")), url
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?:""", text, re.IGNORECASE)
    assert "<script" not in text.lower()
    return chk


def _events(folder: Path) -> list[dict]:
    with (folder / "events.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "clip"
    rc = main(["analyze", str(CLIP), "--out", str(out), "--no-progress", "--device", "cpu",
               "--spot", "micro_threshold=0.3", "--attention", "--report"])
    assert rc == 0
    assert len(_events(out)) >= 1
    return out


def test_analyze_report_embeds_every_event(analysis):
    chk = check_html(analysis / "report.html")
    events = _events(analysis)
    assert len(chk.event_rows) == len(events)
    for k, imgs in enumerate(chk.event_rows):
        assert len(imgs) == 3  # apex thumbnail, score attention, emotion attention
        assert (analysis / "attention" / f"event_{k:03d}.png").is_file()
    assert f"attention/event_{len(events) - 1:03d}.png" in chk.hrefs
    assert {"events", "counts", "gaps", "metrics", "settings", "weights"} <= chk.ids
    assert "source-problem" not in chk.ids
    for suffix in ("svg", "pdf", "png"):
        assert (analysis / f"scores.{suffix}").stat().st_size > 1000
    assert (analysis / "scores.pdf").read_bytes().startswith(b"%PDF")


def test_report_rebuilds_from_the_folder(analysis, tmp_path, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(analysis, folder)
    shutil.rmtree(folder / "attention")
    (folder / "report.html").unlink()
    assert main(["report", str(folder)]) == 0
    assert "report.html" in capsys.readouterr().out
    chk = check_html(folder / "report.html")
    assert len(chk.event_rows) == len(_events(folder))
    assert (folder / "attention" / "event_000.png").is_file()
    # elsewhere: the links are relative to the report and still resolve
    other = tmp_path / "elsewhere" / "r.html"
    other.parent.mkdir()
    assert main(["report", str(folder), "--out", str(other)]) == 0
    check_html(other)


def test_report_without_the_source_says_so(analysis, tmp_path):
    folder = tmp_path / "moved"
    shutil.copytree(analysis, folder, ignore=shutil.ignore_patterns("attention", "report.html"))
    summary = json.loads((folder / "summary.json").read_text())
    summary["source_path"] = str(tmp_path / "gone.db3")
    (folder / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(folder)]) == 0
    chk = check_html(folder / "report.html")
    assert "source-problem" in chk.ids
    text = (folder / "report.html").read_text()
    assert f"the source {tmp_path / 'gone.db3'} is gone" in text
    assert len(chk.event_rows) == len(_events(folder))
    assert all(imgs == [] for imgs in chk.event_rows)  # no thumbnails, no attention
    assert not (folder / "attention").exists()


def test_report_of_a_folder_that_is_not_an_analysis(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "expected an analysis folder" in err[0]


def test_attention_at_replays_the_apex_sample(analysis):
    import rt_sfamnet
    from rt_sfamnet.report.results import load_results

    res = load_results(analysis)
    ev = rt_sfamnet.attention_at(analysis, 0)
    apex = int(res.events.iloc[0]["apex"])
    recorded = float(res.frames.set_index("frame").loc[apex, "score"])
    assert ev.maps.shape == (3, 42, 42) and ev.maps.dtype == np.float32
    assert ev.recorded_score == pytest.approx(recorded, abs=1e-6)
    # the pipeline's own stages on the engine's crop box: the network's score again
    assert ev.score == pytest.approx(recorded, abs=2e-3)
    assert set(ev.crops) == {"onset", "apex", "offset"}
    assert ev.crops["apex"].shape == (128, 128, 3) and ev.crops["apex"].dtype == np.uint8
    for arr in ev.attention.as_arrays().values():
        assert arr.min() >= 0.0 and arr.max() <= 1.0
    assert ev.attention.spot_concat.max() == 1.0  # some positive evidence at a spotted apex
    names = res.summary["class_names"]
    assert names[ev.attention.emotion] == res.events.iloc[0]["emotion"]
    with pytest.raises(rt_sfamnet.RtSfamnetError, match="row of the events table"):
        rt_sfamnet.attention_at(analysis, 99)


def test_screenshot_script_skips_cleanly_without_chromium(monkeypatch, capsys, tmp_path):
    from tests.conftest import load_script

    mod = load_script("scripts/report_screenshot.py")
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser on PATH
    assert mod.find_browser() is None
    assert mod.main([str(tmp_path), str(tmp_path / "shot.png")]) == 0
    assert capsys.readouterr().out.startswith("skipped: no Chromium found")
    assert not (tmp_path / "shot.png").exists()


def test_attention_pngs_one_per_event(analysis, tmp_path):
    """What ``analyze --attention`` writes (without --report): one figure per event."""
    from PIL import Image

    from rt_sfamnet.report.html import write_attention

    folder = tmp_path / "again"
    shutil.copytree(analysis, folder, ignore=shutil.ignore_patterns("attention", "report.html"))
    pngs, problem = write_attention(folder)
    assert problem == ""
    assert [p.name for p in pngs] == [f"event_{k:03d}.png" for k in range(len(_events(folder)))]
    with Image.open(pngs[0]) as img:
        assert img.format == "PNG" and img.width >= 800 and img.height > img.width
    summary = json.loads((folder / "summary.json").read_text())
    summary["source_path"] = "simulator (seed 0)"  # a run that cannot be replayed
    (folder / "summary.json").write_text(json.dumps(summary))
    pngs, problem = write_attention(folder)
    assert pngs == [] and "is not a file" in problem
