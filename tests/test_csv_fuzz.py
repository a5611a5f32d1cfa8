"""Property tests: random, malformed interval and score CSV files give a clean result or a
one-line RtSfamnetError, never another exception (hypothesis)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rt_sfamnet.commands.spot import read_scores
from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.intervals import COLUMNS, TYPES, read_intervals
from rt_sfamnet.metrics import evaluate_intervals
from rt_sfamnet.spotting import SpottingConfig, spot

BAD_NUMBERS = st.sampled_from(["-1", "2.5", "nan", "NaN", "inf", "-inf", "1e400", "-1e400",
                               "Infinity", "9007199254740993", "2000000000", "1e18", "0x10",
                               "1_000", "", " 3 ", "\u0663", "0.3", "1e-300", "1e308", "12.0",
                               "1e1", "x"])
WORDS = st.sampled_from(["s1", "v", "micro", "macro", "Micro", "mini", "happy", "positive",
                         "negative", "surprise", "others", "bored", "", "neutral", "a,b",
                         'q"uote', "x\ny", "\x00", "\u00e9", " "])
ANY = st.one_of(BAD_NUMBERS, WORDS, st.text(max_size=6))


def _usually(good, bad=ANY):
    """Mostly plausible cells (so files get past the header and reach every value check),
    sometimes anything."""
    return st.integers(0, 15).flatmap(lambda i: bad if i == 0 else good)


GOOD = {
    "subject": st.sampled_from(["s1", "s2", ""]),
    "video": st.sampled_from(["a", "b"]),
    "onset": st.integers(0, 60).map(str),
    "apex": st.one_of(st.integers(0, 80).map(str), st.just("")),
    "offset": st.integers(0, 90).map(str),
    "type": st.sampled_from(["micro", "macro", "Micro"]),
    "emotion": st.sampled_from(["positive", "negative", "surprise", "others", "happy", ""]),
    "sample": st.integers(0, 5).map(str),
    "score": st.floats(0, 1).map(repr),
}
SCORE_COLUMNS = ("subject", "video", "sample", "score", "emotion")


def _header(columns: tuple[str, ...]):
    extra = st.sampled_from(["confidence", "", "onset", "video", "Type", "extra"])
    random = st.lists(st.one_of(st.sampled_from(columns), extra), min_size=0, max_size=9)
    return st.one_of(st.permutations(list(columns)), st.permutations(list(columns)), random)


def _csv(columns: tuple[str, ...]):
    """Whole-file text: a header of known, duplicated or unknown names, rows of random cells
    and random lengths, random line endings, sometimes a BOM or a stray quote."""

    @st.composite
    def build(draw) -> str:
        header = draw(_header(columns))
        n_rows = draw(st.integers(0, 8))
        rows = []
        for _ in range(n_rows):
            width = draw(_usually(st.just(len(header)), st.integers(0, len(header) + 2)))
            rows.append([draw(_usually(GOOD.get(header[i], ANY)) if i < len(header) else ANY)
                         for i in range(width)])
        end = draw(st.sampled_from(["\n", "\r\n", "\r"]))

        def line(cells: list[str]) -> str:
            out = []
            for c in cells:
                if any(ch in c for ch in ',"\n\r') and draw(st.booleans()):
                    c = '"' + c.replace('"', '""') + '"'  # sometimes quoted right
                out.append(c)
            return ",".join(out)

        text = end.join([line(header)] + [line(r) for r in rows]) + draw(st.sampled_from([end, ""]))
        if draw(st.booleans()):
            text = "\ufeff" + text
        return text

    return build()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(d: Path, text: str) -> Path:
    p = d / "in.csv"
    p.write_bytes(text.encode("utf-8", "surrogatepass"))
    return p


def _one_line(exc: RtSfamnetError) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg and "Traceback" not in msg
    assert len(msg) < 2000


FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(_csv(COLUMNS))
def test_random_interval_files_parse_cleanly_or_fail_on_one_line(fuzz_dir, text):
    p = _write(fuzz_dir, text)
    try:
        ivs = read_intervals(p)
    except RtSfamnetError as exc:
        _one_line(exc)
        return
    for iv in ivs:
        assert iv.type in TYPES
        assert isinstance(iv.onset, int) and isinstance(iv.offset, int)
        assert 0 <= iv.onset <= iv.offset
        assert iv.apex is None or (isinstance(iv.apex, int) and iv.apex >= 0)
    # what parses also evaluates (emotions the metrics cannot map are a clean error too)
    try:
        r = evaluate_intervals(ivs, ivs, 4)
    except RtSfamnetError as exc:
        _one_line(exc)
        return
    assert r["overall"]["fn"] == 0 and r["overall"]["fp"] == 0


@FUZZ
@given(_csv(SCORE_COLUMNS))
def test_random_score_files_parse_cleanly_or_fail_on_one_line(fuzz_dir, text):
    p = _write(fuzz_dir, text)
    try:
        videos = read_scores(p, 4)
    except RtSfamnetError as exc:
        _one_line(exc)
        return
    for scores, labels in videos.values():
        assert len(scores) == len(labels) > 0
        assert all(math.isfinite(s) for s in scores)
        spot(scores, labels, SpottingConfig())  # usable as they are
