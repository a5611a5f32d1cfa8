"""Subject names of CAS(ME)^3-style datasets: ``spNO.<n>``, in any spelling the files use."""

from __future__ import annotations

import re
from typing import Any

SUBJECT_RE = re.compile(r"^sp\s*no\.?\s*(\d+)$", re.IGNORECASE)
"""Matches a subject folder or cell (``spNO.1``, ``sp NO 1``, ``SPno1``); group 1 is the number."""


def subject_id(value: Any) -> str:
    """The canonical subject name: ``"spNO.<n>"`` (accepts ``"spNO.1"``, ``"sp NO 1"``, ``1``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.isdigit():
        return f"spNO.{int(text)}"
    m = SUBJECT_RE.match(text)
    if m:
        return f"spNO.{int(m.group(1))}"
    return text


def subject_number(subject: str) -> int:
    """The integer of ``spNO.<n>`` (for sorting; other names sort last)."""
    m = SUBJECT_RE.match(subject)
    return int(m.group(1)) if m else 1 << 30


def subject_sort_key(subject: str) -> tuple[int, str]:
    return (subject_number(subject), subject)
