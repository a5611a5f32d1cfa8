"""The app's widgets on their own, fed with EngineUpdate-shaped data."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSlider

from rt_sfamnet.face import CropBox, FaceObservation
from rt_sfamnet.intervals import Interval
from rt_sfamnet.spotting import SpottingConfig
from tests.ui.helpers import make_frame, make_results, spotted
from ui import theme
from ui.app import spotting_thresholds
from ui.history import ScoreHistory
from ui.widgets.banner import MessageBanner
from ui.widgets.controls import PlaybackBar
from ui.widgets.events import EventList, format_time
from ui.widgets.maps import InputMapsView
from ui.widgets.probs import ProbabilityBars
from ui.widgets.scoreplot import ScorePlot, interval_text, label_rows
from ui.widgets.video import DepthView, VideoView


def test_emotion_colours_are_consistent_and_distinct():
    assert theme.emotion_hex("Happiness") == theme.emotion_hex("happy")
    assert theme.emotion_hex("positive") == theme.emotion_hex("happy")
    assert theme.emotion_hex("negative") == theme.emotion_hex("anger")
    four = [theme.emotion_hex(c) for c in ("negative", "positive", "surprise", "others",
                                            "neutral")]
    seven = [theme.emotion_hex(c) for c in ("disgust", "surprise", "others", "fear", "anger",
                                             "sad", "happy", "neutral")]
    assert len(set(four)) == 5 and len(set(seven)) == 8
    assert theme.emotion_hex("") == theme.UNKNOWN_COLOR
    assert theme.emotion_color("sad", 60).alpha() == 60


def test_thresholds_come_from_the_spotting_config():
    assert spotting_thresholds(SpottingConfig()) == (pytest.approx(0.576), pytest.approx(0.576))
    assert spotting_thresholds(SpottingConfig(variant="paper", macro_threshold=0.6)) == (
        pytest.approx(0.58), pytest.approx(0.6))


def test_score_plot_curves_thresholds_regions_and_ground_truth(qtbot):
    plot = ScorePlot(window_s=10.0)
    qtbot.addWidget(plot)
    h = ScoreHistory(fps=30.0)
    h.extend(make_results(range(0, 300, 2), score_fn=lambda f: 0.2 + f / 1000))
    h.set_smoothed("micro", 100, 0.4)
    plot.set_history(h)
    assert plot.curve_points("score") == 150
    assert plot.curve_points("micro") == 1
    assert plot.curve_points("macro") == 0

    plot.set_thresholds(0.576, 0.576)
    assert len(plot.threshold_lines) == 1
    assert plot.threshold_lines[0].value() == pytest.approx(0.576)
    plot.set_thresholds(0.5, 0.6)
    assert sorted(line.value() for line in plot.threshold_lines) == [0.5, 0.6]

    plot.add_spotted(spotted("micro", 60, 89, "surprise", 0.83), fps=30.0)
    region = plot.spotted[0]
    assert region.item.getRegion() == (pytest.approx(2.0), pytest.approx(3.0))
    assert region.label.toPlainText() == "ME surprise 0.83"
    assert QColor(region.color) == QColor(theme.emotion_hex("surprise"))

    gt = [Interval("sim", "v", 30, 40, 59, "micro", "happy"),
          Interval("sim", "v", 600, None, 700, "macro", "")]
    plot.set_ground_truth(gt, fps=30.0)
    assert [r.label.toPlainText() for r in plot.ground_truth] == ["GT ME happy", "GT MaE"]
    rect = plot.ground_truth[0].item.rect()
    assert (rect.left(), rect.right()) == (pytest.approx(1.0), pytest.approx(2.0))

    # a fixed window that follows "now"; regions outside it are hidden
    plot.set_now(5.0)
    x0, x1 = plot.plot.viewRange()[0]
    assert x1 - x0 == pytest.approx(10.0 * 1.02, rel=1e-3)
    assert plot.spotted[0].visible and not plot.ground_truth[1].visible
    plot.set_now(30.0)
    assert not plot.spotted[0].visible and not plot.ground_truth[0].visible
    plot.clear()
    assert plot.spotted == [] and plot.ground_truth == [] and plot.curve_points("score") == 0


def test_interval_text():
    assert interval_text(spotted("macro", 0, 10, "", 0.61)) == "MaE — 0.61"
    assert interval_text(spotted("macro", 0, 10, "surprise", 0.61)) == "MaE surprise 0.61"
    gt = Interval("s", "v", 1, 2, 3, "micro", "sad")
    assert interval_text(gt, ground_truth=True) == "GT ME sad"
    # a true MaE has no emotion in the interval format; the simulator's prototype names it
    gt_mae = Interval("s", "v", 1, 2, 30, "macro", "", {"prototype": "happy"})
    assert interval_text(gt_mae, ground_truth=True) == "GT MaE happy"
    assert interval_text(Interval("s", "v", 1, 2, 30, "macro", ""), ground_truth=True) == "GT MaE"


def test_probability_bars(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.set_classes(("disgust", "surprise", "others", "fear", "anger", "sad", "happy",
                      "neutral"))
    p = np.linspace(0.0, 1.0, 8).astype(np.float32)
    p /= p.sum()
    bars.set_probs(p)
    np.testing.assert_allclose(bars.bars.opts["height"], p)
    brushes = bars.bars.opts["brushes"]
    assert brushes[6].color() == QColor(theme.emotion_hex("happy"))
    assert bars.top_label.toPlainText() == f"{p[7]:.2f}"
    with pytest.raises(ValueError):
        bars.set_probs(np.ones(5, np.float32))
    bars.set_probs(None)
    assert float(np.sum(bars.bars.opts["height"])) == 0.0


def test_event_list_rows_ground_truth_and_click(qtbot):
    events = EventList()
    qtbot.addWidget(events)
    events.set_ground_truth([Interval("s", "v", 100, 105, 120, "micro", "happy")])
    events.add_event(spotted("micro", 101, 121, "positive", 0.77), fps=30.0)
    events.add_event(spotted("macro", 400, 470, "", 0.65), fps=30.0)
    assert events.rowCount() == 2
    row0 = [events.item(0, c).text() for c in range(6)]
    assert row0 == ["0:03.4", "ME", "positive", "0.77", "101–121", "✓ GT: happy"]
    assert events.item(1, 5).text() == "✗"
    assert events.item(1, 2).text() == "—"
    with qtbot.waitSignal(events.eventActivated) as blocker:
        rect = events.visualItemRect(events.item(1, 0))
        qtbot.mouseClick(events.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [400]
    events.clear_events()
    assert events.rowCount() == 0


def test_format_time():
    assert format_time(0) == "0:00.0"
    assert format_time(75.25) == "1:15.2"
    assert format_time(3725.0) == "1:02:05.0"


def test_input_maps_use_fixed_symmetric_levels(qtbot):
    view = InputMapsView()
    qtbot.addWidget(view)
    view.set_mode("scene")
    assert [c.toPlainText() for c in view.captions] == ["S_u", "S_v", "S_w"]
    view.set_levels(0.5, 3.0)
    maps = np.zeros((3, 42, 42), np.float32)
    maps[0, 0, 0] = 10.0  # an outlier must not change the levels
    view.set_maps(maps)
    assert tuple(view.images[0].levels) == (-0.5, 0.5)
    assert tuple(view.images[2].levels) == (-3.0, 3.0)
    assert view.images[1].image.shape == (42, 42)
    assert view.maps_drawn == 1
    with qtbot.waitSignal(view.levelsChanged) as blocker:
        view.uv_spin.setValue(2.0)
    assert blocker.args == [2.0, 3.0]
    assert tuple(view.images[1].levels) == (-2.0, 2.0)
    with pytest.raises(ValueError):
        view.set_maps(np.zeros((2, 42, 42), np.float32))
    with pytest.raises(ValueError):
        view.set_mode("thermal")


def test_video_view_draws_face_box_and_landmarks(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    frame = make_frame(3)
    lm = np.zeros((468, 3), np.float32)
    lm[:, 0] = np.linspace(100, 200, 468)
    lm[:, 1] = 120
    obs = FaceObservation(landmarks=lm, box=CropBox(90, 60, 128), nose_xy=(150.0, 120.0))
    view.set_frame(frame.color, obs)
    rect = view.box.rect()
    assert (rect.x(), rect.y(), rect.width()) == (90.0, 60.0, 128.0)
    assert view.box.isVisible() and view.face_visible
    assert len(view.landmarks.data) == 468
    assert view.image.image.shape == (240, 320, 3)
    view.set_frame(frame.color, None)
    assert not view.box.isVisible() and view.face_label.toPlainText() == "no face"
    with pytest.raises(ValueError):
        view.set_frame(frame.depth, None)


def test_depth_view_colourises_around_the_face(qtbot):
    view = DepthView()
    qtbot.addWidget(view)
    frame = make_frame(0)
    view.set_depth(frame.depth)
    assert view.image.image.shape == (120, 160, 3)
    assert view.image.image.dtype == np.uint8
    assert view.image.image[0, 0].tolist() == [0, 0, 0]  # no depth -> black
    near, far = view.depth_range
    assert far > near
    assert view.range_label.textItem.toPlainText() == f"{near / 1000:.2f}–{far / 1000:.2f} m"


def test_depth_view_of_an_rgb_only_source_says_no_depth(qtbot):
    view = DepthView()
    qtbot.addWidget(view)
    view.set_depth(np.zeros((240, 320), np.uint16))
    assert view.depth_range is None
    assert view.range_label.textItem.toPlainText() == "no depth"
    assert not view.image.image.any()  # all black


def test_banner_keeps_errors_and_records_history(qtbot):
    banner = MessageBanner(info_timeout_ms=50)
    qtbot.addWidget(banner)
    banner.show_info("hello")
    assert banner.kind == "info" and banner.text() == "hello"
    qtbot.waitUntil(lambda: banner.kind == "", timeout=2000)
    banner.show_error("broken")
    qtbot.wait(120)
    assert banner.kind == "error" and banner.text() == "broken"
    banner.dismiss()
    assert banner.text() == "" and banner.history == [("info", "hello"), ("error", "broken")]


def test_playback_bar_emits_play_seek_and_speed(qtbot):
    bar = PlaybackBar()
    qtbot.addWidget(bar)
    bar.set_seekable(True, 300, 30.0)
    assert bar.slider.isEnabled() and bar.slider.maximum() == 299
    with qtbot.waitSignal(bar.playToggled) as blocker:
        bar.play_button.click()
    assert blocker.args == [False] and bar.play_button.text() == "Play"
    with qtbot.waitSignal(bar.seekRequested) as blocker:
        bar.slider.triggerAction(QSlider.SliderAction.SliderPageStepAdd)
    assert blocker.args == [150]
    with qtbot.waitSignal(bar.speedChanged) as blocker:
        bar.step_speed(1)
    assert blocker.args == [2.0]
    bar.set_position(90)
    assert bar.slider.value() == 90 and bar.time_label.text() == "0:03.0 / 0:10.0"
    bar.set_seekable(False, None, 30.0)
    assert not bar.slider.isEnabled() and bar.time_label.text().endswith("live")


# ---------------------------------------------------------------- ME and MaE, by emotion
#: a known list: an ME, a MaE, an ME inside that MaE, a MaE without emotion (frames, 30 fps)
INTERVALS = [
    ("micro", 74, 90, "positive", 0.91),
    ("macro", 148, 225, "surprise", 0.72),
    ("micro", 180, 192, "negative", 0.66),
    ("macro", 452, 530, "", 0.63),
]
TRUTH = [
    Interval("sim", "demo", 75, 80, 88, "micro", "happy", {"prototype": "happy"}),
    Interval("sim", "demo", 150, 171, 222, "macro", "", {"prototype": "surprise"}),
    Interval("sim", "demo", 450, 477, 540, "macro", "", {"prototype": "sad"}),
]


def _region_colours(region):
    """(fill, border) QColor of a spotted region's plot item."""
    return region.item.brush.color(), region.item.lines[0].pen.color()


def test_spotted_me_and_mae_are_drawn_alike_coloured_by_emotion(qtbot):
    from ui.widgets.scoreplot import LABEL_ROWS, REGION_FILL_ALPHA, REGION_LINE_ALPHA

    plot = ScorePlot(window_s=20.0)
    qtbot.addWidget(plot)
    plot.resize(1000, 320)
    plot.show()
    for kind, on, off, emo, score in INTERVALS:
        plot.add_spotted(spotted(kind, on, off, emo, score), fps=30.0)
    plot.set_now(19.0)
    assert len(plot.spotted) == 4
    assert [r.label.toPlainText() for r in plot.spotted] == [
        "ME positive 0.91", "MaE surprise 0.72", "ME negative 0.66", "MaE — 0.63"]
    assert [r.kind for r in plot.spotted] == ["micro", "macro", "micro", "macro"]
    expected = [theme.emotion_hex(e) for e in ("positive", "surprise", "negative", "")]
    for region, hex_ in zip(plot.spotted, expected, strict=True):
        fill, border = _region_colours(region)
        # the same opacity for ME and MaE: one is as visible as the other
        assert (fill.red(), fill.green(), fill.blue()) == QColor(hex_).getRgb()[:3]
        assert (fill.alpha(), border.alpha()) == (REGION_FILL_ALPHA, REGION_LINE_ALPHA)
        assert border.getRgb()[:3] == QColor(hex_).getRgb()[:3]
        assert region.label.color.getRgb()[:3] == QColor(hex_).getRgb()[:3]
        assert region.visible and region.label.isVisible()
        assert region.label.textItem.font().bold()
        assert region.label.anchor.y() == pytest.approx(-1.1 * LABEL_ROWS[region.kind])
    assert plot.spotted[3].color == theme.UNKNOWN_COLOR  # MaE without emotion still shown
    # the labels of an ME inside a MaE sit on different rows and do not overlap
    qtbot.wait(20)
    mae, me = plot.spotted[1].label.sceneBoundingRect(), plot.spotted[2].label.sceneBoundingRect()
    assert mae.width() > 20 and me.width() > 20
    assert not mae.intersects(me)
    assert me.top() >= mae.bottom() - 0.5


def test_label_rows_keep_labels_of_one_kind_apart():
    # MaE rows 0 and 2, ME rows 1 and 3; a label that would overlap the one before it on its
    # row takes the kind's second row; with both rows taken, the row that frees first
    labels = [("micro", 2.0, 2.5), ("micro", 3.0, 2.5), ("micro", 4.0, 2.5),
              ("micro", 10.0, 1.0), ("macro", 5.0, 3.0), ("macro", 8.0, 3.0)]
    # ME ends per row after each: [4.5, -] [4.5, 5.5] [6.5 (4.5 frees first), 5.5] [11, 5.5]
    assert label_rows(labels) == [1, 3, 1, 1, 0, 0]
    assert label_rows([("micro", 0.0, 5.0), ("micro", 1.0, 2.0), ("micro", 2.0, 2.0)]) == [
        1, 3, 3]  # both rows taken at 2.0 s: row 3 (ends at 3.0) frees before row 1 (5.0)
    assert label_rows([("macro", 0.0, 3.0), ("macro", 1.0, 3.0)]) == [0, 2]
    assert label_rows([]) == []


def test_close_labels_of_one_kind_move_to_a_second_row(qtbot):
    plot = ScorePlot(window_s=20.0)
    qtbot.addWidget(plot)
    plot.resize(1000, 320)
    plot.show()
    qtbot.wait(20)
    # 2.0 s and 2.5 s: too close for two labels on one row; 10 s and 24 s: far enough
    for onset in (60, 75, 300, 720):
        plot.add_spotted(spotted("micro", onset, onset + 10, "negative", 0.66), fps=30.0)
    width_px = plot.spotted[0].label_width_px()
    s_per_px = 20.0 * 1.02 / plot.plot.getViewBox().width()
    assert 0.5 < width_px * s_per_px < 7.0  # a label spans 0.5-7 s at this scale
    assert [r.row for r in plot.spotted] == [1, 3, 1, 1]
    a, b = (r.label.sceneBoundingRect() for r in plot.spotted[:2])
    assert not a.intersects(b)
    # 6x fewer pixels per second: a label spans 12-21 s (90-160 px); 10 s overlaps both
    # rows (the first frees first), 24 s is free on the second
    plot.set_window(120.0)
    assert 12.0 < width_px * s_per_px * 6 < 21.0
    assert [r.row for r in plot.spotted] == [1, 3, 1, 3]
    plot.set_window(20.0)
    assert [r.row for r in plot.spotted] == [1, 3, 1, 1]


def test_ground_truth_mae_bands_carry_the_prototype_emotion(qtbot):
    plot = ScorePlot(window_s=20.0)
    qtbot.addWidget(plot)
    plot.set_ground_truth(TRUTH, fps=30.0)
    assert [r.label.toPlainText() for r in plot.ground_truth] == [
        "GT ME happy", "GT MaE surprise", "GT MaE sad"]
    for region, emo in zip(plot.ground_truth, ("happy", "surprise", "sad"), strict=True):
        assert region.emotion == emo
        band = region.item.brush().color()
        assert band.getRgb()[:3] == QColor(theme.emotion_hex(emo)).getRgb()[:3]
    # ME labels beside the band, MaE labels inside it (from its start)
    assert plot.ground_truth[0].label.pos().x() == pytest.approx(89 / 30)
    assert plot.ground_truth[1].label.pos().x() == pytest.approx(150 / 30)


def test_legend_has_one_swatch_per_emotion_class(qtbot):
    plot = ScorePlot()
    qtbot.addWidget(plot)
    assert "spotted (colour = emotion)" in plot.legend.text()
    classes = ("negative", "positive", "surprise", "others", "neutral")
    plot.set_classes(classes)
    html = plot.legend.text()
    for c in classes:
        assert f'<span style="color:{theme.emotion_hex(c)}">■</span>&nbsp;{c}' in html
    plot.set_thresholds(0.5, 0.6)  # the swatches stay when the thresholds change
    assert html.count("■") == 5 and plot.legend.text().count("■") == 5


def test_event_list_shows_type_emotion_confidence_and_true_emotion(qtbot):
    events = EventList()
    qtbot.addWidget(events)
    events.set_ground_truth(TRUTH)
    for kind, on, off, emo, score in INTERVALS:
        events.add_event(spotted(kind, on, off, emo, score), fps=30.0)
    rows = [[events.item(r, c).text() for c in range(1, 6)] for r in range(events.rowCount())]
    assert rows == [
        ["ME", "positive", "0.91", "74–90", "✓ GT: happy"],
        ["MaE", "surprise", "0.72", "148–225", "✓ GT: surprise"],
        ["ME", "negative", "0.66", "180–192", "✗"],
        ["MaE", "—", "0.63", "452–530", "✓ GT: sad"],
    ]
    # the ME inside the true MaE: the tooltip says which truth it overlaps
    assert events.item(2, 5).toolTip() == (
        "no true ME overlaps with IoU ≥ 0.5; overlaps the true MaE 150–222 (surprise, "
        "IoU 0.18)")  # 13 frames of 73
    assert events.item(1, 5).toolTip() == (
        "matches the true MaE 150–222 (IoU 0.94), true emotion surprise")  # 73 of 78
    assert "(IoU 0.87)" in events.item(3, 5).toolTip()  # 79 of 91

    def swatch(row, col):
        return events.item(row, col).icon().pixmap(10, 10).toImage().pixelColor(5, 5)

    # the emotion cell's colour is the plot's; the GT cell shows the true emotion's colour
    for row, emo in enumerate(("positive", "surprise", "negative", "")):
        assert swatch(row, 2) == QColor(theme.emotion_hex(emo))
        assert events.item(row, 2).foreground().color() == QColor(theme.emotion_hex(emo))
    assert swatch(1, 5) == QColor(theme.emotion_hex("surprise"))
    assert swatch(3, 5) == QColor(theme.emotion_hex("sad"))
    assert events.item(2, 5).icon().isNull()
    # without ground truth the column is empty
    events.set_ground_truth(None)
    assert [events.item(r, 5).text() for r in range(4)] == ["", "", "", ""]
