"""``rt-sfamnet spot``: offline post-processing of saved scores (re-tune without new flows).

Input CSV columns: ``video, sample, score, emotion`` (optional ``subject``): one row per score
sample, sample ``i`` is frame ``i * frame_skip``, ``emotion`` is the predicted class name.
Samples of a video must be 0, 1, 2, ... without gaps (rows may come in any order).
"""

from __future__ import annotations

import argparse
import json

NAME = "spot"
HELP = "turn saved per-sample scores into expression intervals (offline post-processing)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", required=True, metavar="FILE.csv",
                        help="CSV with columns video, sample, score, emotion (optional subject)")
    parser.add_argument("--emotions", type=int, choices=(4, 7), required=True,
                        help="emotion setting of the predicted class names")
    parser.add_argument("--frame-skip", type=int, default=None, metavar="N",
                        help="frames per score sample (default: the config's, else 2)")
    parser.add_argument("--config", default=None, metavar="FILE.toml",
                        help="spotting settings: a [spotting] table, or the whole file")
    parser.add_argument("--out", default=None, metavar="FILE.csv",
                        help="also write the intervals as an interval file")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of lines")


def read_scores(path, emotions: int) -> dict[tuple[str, str], tuple[list[float], list[str]]]:
    """Read a score CSV: {(subject, video): (scores, labels)} in sample order.

    Raises InputFileError naming the file, line and column of any malformed value.
    """
    import math
    from pathlib import Path

    from rt_sfamnet.emotions import to_class
    from rt_sfamnet.errors import InputFileError, RtSfamnetError
    from rt_sfamnet.intervals import read_csv

    p = Path(path)
    header, table = read_csv(p, "score file")
    missing = [c for c in ("video", "sample", "score", "emotion") if c not in header]
    if missing:
        raise InputFileError(
            f"{p}, line 1: missing column(s) {missing}; expected video, sample, score, emotion; "
            f"found {header}"
        )
    rows: dict[tuple[str, str], dict[int, tuple[float, str]]] = {}
    for line, row in table:
        try:
            sample = int(row["sample"].strip())
        except ValueError:
            raise InputFileError(
                f"{p}, line {line}, column 'sample': expected an integer, found {row['sample']!r}"
            ) from None
        if sample < 0:
            raise InputFileError(f"{p}, line {line}, column 'sample': negative sample {sample}")
        try:
            score = float(row["score"])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise InputFileError(
                f"{p}, line {line}, column 'score': expected a finite number, found {row['score']!r}"
            )
        try:
            label = to_class(row["emotion"], emotions) if row["emotion"].strip() else ""
        except RtSfamnetError as exc:
            raise InputFileError(f"{p}, line {line}, column 'emotion': {exc}") from None
        key = (row.get("subject", "").strip(), row["video"].strip())
        per = rows.setdefault(key, {})
        if sample in per:
            raise InputFileError(
                f"{p}, line {line}, column 'sample': sample {sample} of video {key[1]!r} repeated"
            )
        per[sample] = (score, label)
    out = {}
    for key, per in rows.items():
        n = len(per)
        if max(per) != n - 1:  # n distinct samples >= 0 are 0..n-1 exactly when the max is n-1
            raise InputFileError(
                f"{p}: video {key[1]!r} has samples missing (e.g. {_first_missing(per, 5)}); "
                f"expected 0..{max(per)}"
            )
        out[key] = ([per[i][0] for i in range(n)], [per[i][1] for i in range(n)])
    return out


def _first_missing(present, k: int) -> list[int]:
    """The ``k`` smallest non-negative integers not in ``present`` (O(len(present) log))."""
    missing: list[int] = []
    expected = 0
    for s in sorted(present):
        while expected < s and len(missing) < k:
            missing.append(expected)
            expected += 1
        if len(missing) >= k:
            break
        expected = s + 1
    return missing


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from rt_sfamnet.config import config_from_mapping, load_toml
    from rt_sfamnet.errors import ConfigError
    from rt_sfamnet.fileio import check_writable_file
    from rt_sfamnet.intervals import write_intervals
    from rt_sfamnet.spotting import SpottingConfig, spot

    if args.out:
        check_writable_file(args.out, "interval file")  # before any work
    mapping = {}
    if args.config:
        data = load_toml(args.config)
        mapping = data["spotting"] if isinstance(data.get("spotting"), dict) else data
    cfg = config_from_mapping(SpottingConfig, mapping, f"{args.config} [spotting]" if args.config else "spotting")
    if args.frame_skip is not None:
        if args.frame_skip < 1:
            raise ConfigError(f"--frame-skip must be >= 1, found {args.frame_skip}")
        cfg = dataclasses.replace(cfg, frame_skip=args.frame_skip)
    videos = read_scores(args.scores, args.emotions)
    results = []
    for (subject, video), (scores, labels) in videos.items():
        for iv in spot(scores, labels, cfg):
            results.append((subject, video, iv))
    if args.out:
        write_intervals(args.out, [iv.to_interval(s or "-", v) for s, v, iv in results])
    if args.json:
        out = []
        for subject, video, iv in results:
            d = {"video": video, "type": iv.type, "onset": iv.onset, "apex": iv.apex,
                 "offset": iv.offset, "emotion": iv.emotion}
            if subject:
                d = {"subject": subject, **d}
            out.append(d)
        print(json.dumps(out))
    else:
        for subject, video, iv in results:
            name = f"{subject}/{video}" if subject else video
            print(f"{name} {iv.type} onset={iv.onset} apex={iv.apex} offset={iv.offset} "
                  f"emotion={iv.emotion or '-'} score={iv.score:.4f}")
    return 0
