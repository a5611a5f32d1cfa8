"""Expression scripts: timing rules, intensities, ground truth, recipes."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.emotions import EMOTIONS7
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.sim import script as S
from rt_sfamnet.sim.aus import EMOTION_PROTOTYPES, OBJECTIVE_CLASS, REALISTIC_PROTOTYPES, au_string
from rt_sfamnet.sim.recipe import Recipe, load_recipe, script_from_recipe


@pytest.mark.parametrize("fps", [30.0, 60.0, 25.0])
def test_generated_timing_ranges(fps):
    micro = macro = 0
    for seed in range(40):
        sc = S.generate_script(seed, int(60 * fps), fps)
        prev_end = -1
        for e in sc.expressions:
            assert e.onset > prev_end
            prev_end = e.offset
            rise = (e.apex - e.onset) / fps
            total = (e.offset - e.onset) / fps
            if e.type == "micro":
                micro += 1
                assert 0.07 <= rise <= 0.25, (seed, e)
                assert (e.offset - e.onset + 1) / fps < 0.5, (seed, e)
                # a hold at the apex (>= 0.1 s), so a 0.2-s flow window is not cancelled
                assert (e.hold_end - e.apex) / fps >= 0.1, (seed, e)
                assert e.offset > e.hold_end
                assert 0.5 <= e.amplitude_px <= 2.0
            else:
                macro += 1
                assert 0.5 <= total <= 4.0, (seed, e)
                assert (e.apex - e.onset) / fps >= 0.5, (seed, e)  # slow macro onsets
                assert e.amplitude_px > 2.0
            assert e.offset < sc.n_frames
        for b in sc.blinks:
            assert 0.1 <= (b.end - b.start) / fps <= 0.15 + 1e-9
            for e in sc.expressions:  # blinks stay out of the labelled intervals
                assert b.end < e.onset or b.start > e.offset
    assert micro > 100 and macro > 50


def test_intensity_profile():
    e = S.Expression("micro", "happy", 10, 14, 20, 1.5, {"12": 1.0})
    vals = [e.intensity(f) for f in range(8, 23)]
    assert e.intensity(10) == 0.0 and e.intensity(20) == 0.0
    assert e.intensity(14) == 1.0
    assert all(0 < e.intensity(f) < 1 for f in (11, 12, 13, 15, 19))
    assert np.all(np.diff(vals[2:7]) > 0) and np.all(np.diff(vals[6:13]) < 0)
    b = S.Blink(5, 9)
    assert max(b.intensity(f) for f in range(5, 10)) == 1.0
    assert b.intensity(5) == 0.0 and b.intensity(9) == 0.0


def test_every_emotion_has_a_distinct_prototype():
    assert set(EMOTION_PROTOTYPES) == set(EMOTIONS7)
    firsts = {au_string(v[0]) for v in EMOTION_PROTOTYPES.values()}
    assert len(firsts) == 7
    assert set(OBJECTIVE_CLASS.values()) == {"I", "II", "III", "IV", "V", "VI", "VII"}


def test_realistic_expressions_open_the_mouth_and_rise_faster():
    """The realistic simulator draws open-mouth smiles and crying and faster macro onsets;
    the plain simulator never does (its datasets stay what they were)."""
    def draws(realistic):
        rng = np.random.default_rng(3)
        return [S.make_expression(rng, "macro", emo, 0, 30.0, realistic=realistic)
                for _ in range(60) for emo in ("happy", "sad")]

    plain, real = draws(False), draws(True)
    assert not any("25" in e.aus for e in plain)
    assert min(e.apex - e.onset for e in plain) >= 18  # 0.6 s at 30 fps
    opened = {e.emotion for e in real if "25" in e.aus}
    assert opened == {"happy", "sad"}
    assert sum("25" in e.aus for e in real) > 40  # happy: 3 of 5 variants, sad: 2 of 3
    assert 8 <= min(e.apex - e.onset for e in real) < 18  # 0.25-0.6 s onsets occur
    assert min(e.offset - e.hold_end for e in plain) >= 21  # 0.7 s
    assert 8 <= min(e.offset - e.hold_end for e in real) < 21  # and fast releases
    assert max(e.amplitude_px for e in plain) <= 6.0
    amps = [e.amplitude_px for e in real]
    assert min(amps) >= 3.5 and max(amps) <= 14.0 and sum(a > 7.0 for a in amps) > 30
    # every plain variant is still a realistic one, with the same AUs first
    for emo, variants in EMOTION_PROTOTYPES.items():
        assert REALISTIC_PROTOTYPES[emo][: len(variants)] == variants
    # smiles without the cheek raiser: mouth-only motion is not always "others"
    happy_real = [e for e in real if e.emotion == "happy"]
    assert all("6" in e.aus for e in plain if e.emotion == "happy")
    assert any("6" not in e.aus and "12" in e.aus for e in happy_real)
    assert all("12" in e.aus for e in happy_real)
    nuis = S.generate_script(4, 3600, nuisance=True)
    assert any("25" in e.aus for e in nuis.expressions if e.emotion in ("happy", "sad")) or \
        not any(e.emotion in ("happy", "sad") for e in nuis.expressions)


def test_lips_part_moves_the_lower_lip_down():
    from rt_sfamnet.sim import RenderConfig, Renderer, faces
    from rt_sfamnet.sim import landmarks as L

    tpl = faces.build_template(faces.identity(1))
    e = S.Expression("macro", "happy", 2, 8, 20, 5.0, {"25": 1.0}, hold_end=12)
    r = Renderer(tpl, S.Script(24, 30.0, [e], [], S.HeadMotion(0, 0.0, 0.0, 0.0, 0.0)),
                 config=RenderConfig(color_noise=0.0, depth_noise=None, head_motion=0.0))
    d, _ = r.displacement(8)  # (h, w, 2) px over the face box, (x, y) image axes
    x0, y0 = r.box[:2]

    def at(i):
        x, y = np.round(tpl.landmarks[i, :2]).astype(int)
        return d[y - y0, x - x0]

    lower, upper, brow = at(L.LOWER_LIP_BOTTOM), at(L.UPPER_LIP_TOP), at(105)
    assert lower[1] > 3.0  # image y grows downwards: the lower lip drops by most of 5 px
    assert -0.5 * lower[1] < upper[1] < -0.5  # the upper lip lifts, less
    assert np.hypot(*brow) < 0.05


def test_generation_is_deterministic_and_cycles_emotions():
    a = S.generate_script(5, 1800)
    b = S.generate_script(5, 1800)
    c = S.generate_script(6, 1800)
    assert [(e.onset, e.offset, e.emotion) for e in a.expressions] == [
        (e.onset, e.offset, e.emotion) for e in b.expressions]
    assert [(e.onset, e.emotion) for e in a.expressions] != [(e.onset, e.emotion) for e in c.expressions]
    first7 = [e.emotion for e in a.expressions[:7]]
    assert sorted(first7) == sorted(EMOTIONS7)


def test_script_intervals():
    sc = S.generate_script(1, 900)
    ivs = S.script_intervals(sc, "sim", "seed1")
    assert len(ivs) == len(sc.expressions) > 0
    for iv, e in zip(ivs, sc.expressions, strict=True):
        assert (iv.onset, iv.apex, iv.offset, iv.type) == (e.onset, e.apex, e.offset, e.type)
        assert iv.subject == "sim" and iv.video == "seed1"
        assert iv.emotion == (e.emotion if e.type == "micro" else "")
        assert iv.extra["prototype"] == e.emotion
    shifted = S.script_intervals(sc, "s", "v", frame_offset=1)
    assert shifted[0].onset == ivs[0].onset + 1


def test_au_activations():
    e = S.Expression("micro", "happy", 10, 14, 20, 1.5, {"6": 0.6, "12": 1.0})
    sc = S.Script(40, 30.0, [e], [S.Blink(30, 34)])
    assert sc.au_activations(5) == {}
    assert sc.au_activations(14) == pytest.approx({"AU6": 0.6, "AU12": 1.0})
    assert sc.blink(32) > 0.9 and sc.blink(20) == 0.0


def test_bad_expressions_raise():
    with pytest.raises(ConfigError, match="emotion"):
        S.Expression("micro", "bored", 1, 3, 6, 1.0, {"12": 1.0})
    with pytest.raises(ConfigError, match="onset < apex"):
        S.Expression("micro", "happy", 5, 5, 6, 1.0, {"12": 1.0})
    with pytest.raises(ConfigError, match="unknown AU"):
        S.Expression("micro", "happy", 1, 3, 6, 1.0, {"99": 1.0})
    with pytest.raises(ConfigError, match="ends after"):
        S.Script(10, 30.0, [S.Expression("micro", "happy", 1, 3, 12, 1.0, {"12": 1.0})])


def test_recipe(tmp_path, repo_root):
    rc = load_recipe(repo_root / "recordings" / "demo_recipe.toml")
    assert 30 <= rc.duration_s <= 60 and (rc.width, rc.height) == (640, 480)
    sc = script_from_recipe(rc)
    types = [e.type for e in sc.expressions]
    assert types.count("micro") >= 3 and types.count("macro") >= 2
    assert sc.expressions[0].onset == round(rc.expression[0]["onset_s"] * rc.fps)
    p = tmp_path / "r.toml"
    p.write_text('seed = 1\nduration_s = 3.0\ncolour = "red"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(p)
    p.write_text('seed = 1\nduration_s = 3.0\n[[expression]]\ntype = "micro"\nemotion = "sad"\n'
                 'onset_s = 1.0\nrise_s = 0.4\n')
    with pytest.raises(ConfigError, match="micro-expression needs"):
        script_from_recipe(load_recipe(p))
    p.write_text('seed = 1\nduration_s = 3.0\n[[expression]]\ntype = "macro"\nemotion = "sad"\n'
                 'onset_s = 1.0\nwhen = 2\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(p)
    # without expressions the script is drawn from the seed
    sc = script_from_recipe(Recipe(seed=4, duration_s=20.0))
    assert len(sc.expressions) >= 3
