"""Review mode of the desktop app (see docs/review.md).

- :mod:`ui.review.controller`: :class:`ReviewController`, the mode's actions and behaviour;
- :mod:`ui.review.panel`: the review dock's widgets;
- :mod:`ui.review.overlay`: the draggable interval on the score plot.

The review model (rows, statuses, undo/redo, the annotation file) is
:mod:`rt_sfamnet.annotations`, without Qt.
"""

from ui.review.controller import REVIEW_ACTIONS, ReviewController

__all__ = ["REVIEW_ACTIONS", "ReviewController"]
