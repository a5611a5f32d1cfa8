"""The main window's panels: widgets and splitters, built once, returned as handles.

Layout (all panels resizable with splitters)::

    ┌ message banner (errors, notices; non-modal) ───────────────────────────────────────────────┐
    ├ weights banner (synthetic-trained weights on a real face; stays while the source is open) ┤
    │ colour view (face box, landmarks)  │ depth view (colourised) │ probabilities (bars)      │
    │                                    │ input maps u · v · w    ├───────────────────────────│
    ├ playback: ▶ ───●────── time · speed ─────────────────────────┤ event list (click = seek) │
    │ score plot: raw · ME-smoothed · MaE-smoothed · thresholds ·   │                           │
    │ spotted regions (colour = emotion) · ground-truth band        │                           │
    └ status: source · backend · input fps · analysed/s · latency · drops · weights · model ────┘

Nothing here connects a signal to the window's behaviour: :class:`ui.app.MainWindow` does.
The toolbar, menus and actions are built by :mod:`ui.menus`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from ui.widgets.banner import MessageBanner
from ui.widgets.controls import PlaybackBar, StatusPanel
from ui.widgets.events import EventList
from ui.widgets.maps import InputMapsView
from ui.widgets.probs import ProbabilityBars
from ui.widgets.scoreplot import ScorePlot
from ui.widgets.video import DepthView, VideoView


@dataclass
class Panels:
    """Handles of the window's panels (field names are the window's attribute names)."""

    video: VideoView
    depth: DepthView
    maps: InputMapsView
    plot: ScorePlot
    probs: ProbabilityBars
    event_list: EventList
    playback: PlaybackBar
    banner: MessageBanner
    #: what the weights were trained on, when that does not fit the source (ui.window)
    weights_banner: MessageBanner
    status: StatusPanel
    #: the titled box around the depth view (hidden with it)
    depth_panel: QWidget
    #: depth view above input maps (hidden when both are)
    side: QSplitter
    #: colour view | side
    media: QSplitter
    #: left column (media, playback, plot) | right column (probabilities, events)
    main_split: QSplitter


def titled(title: str, widget: QWidget) -> QWidget:
    """``widget`` under a bold caption (object name ``panelTitle`` in the style sheet)."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(2, 2, 2, 2)
    lay.setSpacing(1)
    label = QLabel(title)
    label.setObjectName("panelTitle")
    lay.addWidget(label)
    lay.addWidget(widget, 1)
    return box


def _splitter(orientation: Qt.Orientation, widgets: list[QWidget],
              sizes: list[int]) -> QSplitter:
    split = QSplitter(orientation)
    for w in widgets:
        split.addWidget(w)
    split.setSizes(sizes)
    return split


def build_panels(window: QMainWindow, plot_window_s: float) -> Panels:
    """Create the panels, lay them out as the window's central widget and status bar.

    Args:
        window: the main window (receives the central widget; its status bar holds the
            readouts).
        plot_window_s: initial time window of the score plot (s).
    """
    video, depth, maps = VideoView(), DepthView(), InputMapsView()
    plot = ScorePlot(window_s=plot_window_s)
    probs, event_list = ProbabilityBars(), EventList()
    playback, banner, weights_banner = PlaybackBar(), MessageBanner(), MessageBanner()
    weights_banner.close_button.hide()  # it goes with the source, not with a click

    V, H = Qt.Orientation.Vertical, Qt.Orientation.Horizontal
    depth_panel = titled("Depth (aligned, red = near)", depth)
    side = _splitter(V, [depth_panel, maps], [300, 200])
    media = _splitter(H, [titled("Colour · face box · landmarks", video), side], [620, 380])

    top = QWidget()
    top_lay = QVBoxLayout(top)
    top_lay.setContentsMargins(0, 0, 0, 0)
    top_lay.setSpacing(0)
    top_lay.addWidget(media, 1)
    top_lay.addWidget(playback)
    left = _splitter(V, [top, titled("Spotting score", plot)], [520, 300])
    right = _splitter(V, [titled("Emotion probabilities (latest analysed frame)", probs),
                          titled("Spotted expressions (click to replay)", event_list)],
                      [230, 560])
    main_split = _splitter(H, [left, right], [1040, 400])
    main_split.setStretchFactor(0, 1)

    central = QWidget()
    lay = QVBoxLayout(central)
    lay.setContentsMargins(4, 4, 4, 0)
    lay.setSpacing(4)
    lay.addWidget(banner)
    lay.addWidget(weights_banner)
    lay.addWidget(main_split, 1)
    window.setCentralWidget(central)
    status = StatusPanel(window.statusBar())

    # keys belong to the window's shortcuts, not to the widgets under the mouse
    for w in (playback.play_button, playback.speed, playback.slider):
        w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    event_list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    return Panels(video=video, depth=depth, maps=maps, plot=plot, probs=probs,
                  event_list=event_list, playback=playback, banner=banner,
                  weights_banner=weights_banner, status=status,
                  depth_panel=depth_panel, side=side, media=media, main_split=main_split)


__all__ = ["Panels", "build_panels", "titled"]
