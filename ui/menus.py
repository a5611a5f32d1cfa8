"""The main window's actions, toolbar and menus, built once, returned as handles.

Every command of the window is a :class:`QAction` with a shortcut (see the table in
``docs/gui.md``), shared by the toolbar and the menus. Nothing here decides what an action
does: :class:`ui.app.MainWindow` connects them to its slots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QMainWindow, QMenu, QToolBar, QToolButton, QWidget

from ui.settings import FLOW_MODES

#: Choices of the score plot's time window (s).
PLOT_WINDOWS_S = (10.0, 20.0, 30.0, 60.0, 120.0)

_Shortcut = str | QKeySequence.StandardKey | None

#: attribute name -> (text, shortcut, tip, checkable)
ACTION_SPECS: dict[str, tuple[str, _Shortcut, str, bool]] = {
    "act_camera": ("Camera", "C", "Open the connected RealSense camera", False),
    "act_open": ("Open recording or video…", "O",
                 "Open a .db3/.bag recording or a video file (.mp4, .mov, .avi, .mkv, .webm)",
                 False),
    "act_folder": ("Open frame folder…", "Shift+O",
                   "Open a CAS(ME)^3-style frame folder (color/, depth/)", False),
    "act_sim": ("Simulator", "S", "Open the built-in RGB-D face simulator", False),
    "act_demo": ("Demo", None, "Open the bundled demo recording", False),
    "act_play": ("Play/Pause", "Space", "Play or pause", False),
    "act_back": ("Back 1 s", "Left", "Step back one second", False),
    "act_fwd": ("Forward 1 s", "Right", "Step forward one second", False),
    "act_home": ("Start", "Home", "Go to the start", False),
    "act_slower": ("Slower", "[", "Slower playback", False),
    "act_faster": ("Faster", "]", "Faster playback", False),
    "act_record": ("Record", "R", "Start or stop recording the source to a .db3 file; the "
                   "view and the analysis go on", True),
    "act_camera_settings": ("Camera settings…", None,
                            "Exposure, laser power and visual preset of the live camera", False),
    "act_weights": ("Weights…", "W", "Choose a weights file (.safetensors or official .pkl)",
                    False),
    "act_default_weights": ("Default weights", None, "Use the bundled default weights", False),
    "act_export": ("Export…", "Ctrl+E", "Export events and per-frame scores (CSV or JSON)",
                   False),
    "act_fullscreen": ("Full screen", "F", "Toggle full screen", True),
    "act_depth": ("Depth view", "D", "Show the depth view", True),
    "act_maps": ("Input maps", "M", "Show the network's input maps", True),
    "act_landmarks": ("Landmarks", "L", "Draw the 468 face landmarks", True),
    "act_attention": ("Attention overlay", "G", "Overlay where the network looks (Grad-CAM, "
                      "CBAM) on the face and the input maps, for the newest sample", True),
    "act_quit": ("Quit", QKeySequence.StandardKey.Quit, "Quit", False),
}


@dataclass
class Actions:
    """Handles of the window's commands (field names are the window's attribute names)."""

    act_camera: QAction
    act_open: QAction
    act_folder: QAction
    act_sim: QAction
    act_demo: QAction
    act_play: QAction
    act_back: QAction
    act_fwd: QAction
    act_home: QAction
    act_slower: QAction
    act_faster: QAction
    act_record: QAction
    act_camera_settings: QAction
    act_weights: QAction
    act_default_weights: QAction
    act_export: QAction
    act_fullscreen: QAction
    act_depth: QAction
    act_maps: QAction
    act_landmarks: QAction
    act_attention: QAction
    act_quit: QAction
    #: Escape (leaves full screen)
    act_escape: QAction
    #: toolbar choice of the flow mode (item data: None = the weights' own, or a mode)
    flow_combo: QComboBox
    toolbar: QToolBar
    #: the ▾ menu of the toolbar's "Open recording" button
    recent_menu: QMenu
    #: File ▸ Recent recordings
    recent_file_menu: QMenu
    #: Engine ▸ Flow mode (exclusive, data = mode or None)
    flow_actions: QActionGroup
    #: View ▸ Score window (exclusive, data = seconds)
    window_actions: QActionGroup


def make_action(window: QWidget, text: str, shortcut: _Shortcut = None, tip: str = "",
                checkable: bool = False) -> QAction:
    """A window-wide action with a shortcut and a tooltip that names it."""
    act = QAction(text, window)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if tip:
        act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
        act.setStatusTip(tip)
    act.setCheckable(checkable)
    window.addAction(act)
    return act


def _flow_combo() -> QComboBox:
    combo = QComboBox()
    combo.addItem("flow: from weights", None)
    for m in FLOW_MODES:
        combo.addItem(f"flow: {m}", m)
    combo.setToolTip(
        "Input maps: hybrid = (O_u, O_v, S_w), scene = (S_u, S_v, S_w), optical = (O_u, "
        "O_v, O_strain). 'From weights' uses the mode the weights were trained with."
    )
    combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return combo


def _toolbar(window: QMainWindow, acts: dict[str, QAction], combo: QComboBox,
             recent_menu: QMenu) -> QToolBar:
    tb = QToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    tb.addAction(acts["act_camera"])
    open_button = QToolButton()
    open_button.setDefaultAction(acts["act_open"])
    open_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    open_button.setMenu(recent_menu)
    tb.addWidget(open_button)
    groups = (["act_sim", "act_demo"], ["act_record"], ["act_weights", combo], ["act_export"],
              ["act_depth", "act_maps", "act_landmarks"])
    for i, group in enumerate(groups):
        if i:
            tb.addSeparator()
        for item in group:
            if isinstance(item, str):
                tb.addAction(acts[item])
            else:
                tb.addWidget(item)
    spacer = QWidget()
    spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                         spacer.sizePolicy().verticalPolicy().Preferred)
    tb.addWidget(spacer)
    tb.addAction(acts["act_fullscreen"])
    for w in tb.findChildren(QToolButton):
        w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    window.addToolBar(tb)
    return tb


def _choice_group(window: QWidget, menu: QMenu, items: list[tuple[str, object]]) -> QActionGroup:
    """An exclusive group of checkable actions in ``menu``, ``(text, data)`` each."""
    group = QActionGroup(window)
    for text, data in items:
        a = QAction(text, window, checkable=True)
        a.setData(data)
        group.addAction(a)
        menu.addAction(a)
    return group


def _menus(window: QMainWindow, acts: dict[str, QAction],
           plot_window_s: float) -> tuple[QMenu, QActionGroup, QActionGroup]:
    bar = window.menuBar()
    m_file = bar.addMenu("&File")
    for name in ("act_camera", "act_open", "act_folder", "act_sim", "act_demo"):
        m_file.addAction(acts[name])
    recent_file_menu = m_file.addMenu("Recent recordings")
    m_file.addSeparator()
    m_file.addAction(acts["act_record"])
    m_file.addAction(acts["act_camera_settings"])
    m_file.addAction(acts["act_export"])
    m_file.addSeparator()
    m_file.addAction(acts["act_quit"])
    m_play = bar.addMenu("&Playback")
    for name in ("act_play", "act_back", "act_fwd", "act_home", "act_slower", "act_faster"):
        m_play.addAction(acts[name])
    m_engine = bar.addMenu("&Engine")
    m_engine.addAction(acts["act_weights"])
    m_engine.addAction(acts["act_default_weights"])
    flow_actions = _choice_group(
        window, m_engine.addMenu("Flow mode"),
        [("from weights" if m is None else m, m) for m in (None, *FLOW_MODES)])
    m_view = bar.addMenu("&View")
    for name in ("act_depth", "act_maps", "act_landmarks", "act_attention", "act_fullscreen"):
        m_view.addAction(acts[name])
    window_actions = _choice_group(window, m_view.addMenu("Score window"),
                                   [(f"{s:g} s", float(s)) for s in PLOT_WINDOWS_S])
    for a in window_actions.actions():
        a.setChecked(abs(a.data() - plot_window_s) < 1e-9)
    return recent_file_menu, flow_actions, window_actions


def build_actions(window: QMainWindow, plot_window_s: float) -> Actions:
    """Create the actions (with their shortcuts), the toolbar and the menu bar of ``window``.

    Args:
        window: the main window (parents the actions; receives toolbar and menu bar).
        plot_window_s: the score plot's window (s), checked in View ▸ Score window.
    """
    acts = {name: make_action(window, text, shortcut, tip, checkable)
            for name, (text, shortcut, tip, checkable) in ACTION_SPECS.items()}
    acts["act_escape"] = make_action(window, "Leave full screen", "Escape")
    combo = _flow_combo()
    recent_menu = QMenu(window)
    toolbar = _toolbar(window, acts, combo, recent_menu)
    recent_file_menu, flow_actions, window_actions = _menus(window, acts, plot_window_s)
    return Actions(**acts, flow_combo=combo, toolbar=toolbar, recent_menu=recent_menu,
                   recent_file_menu=recent_file_menu, flow_actions=flow_actions,
                   window_actions=window_actions)


def fill_recent_menu(menu: QMenu, files: list[str], open_file: Callable[[str], None],
                     clear: Callable[[], None]) -> None:
    """Replace ``menu``'s entries by one per file (newest first) and "Clear list"."""
    menu.clear()
    for f in files:
        act = menu.addAction(Path(f).name)
        act.setToolTip(f)
        act.setStatusTip(f)
        act.triggered.connect(lambda _=False, p=f: open_file(p))
    if files:
        menu.addSeparator()
        clear_act = menu.addAction("Clear list")
        clear_act.triggered.connect(clear)
    else:
        menu.addAction("(no recent recordings)").setEnabled(False)


__all__ = ["ACTION_SPECS", "Actions", "PLOT_WINDOWS_S", "build_actions", "fill_recent_menu",
           "make_action"]
