"""How stored values are shown in the window's tables, shared by the comparison grid's
dialogs and the Evaluation tab (kept below both, so neither imports the other for them):
a dash for a value that is not there, a read-only cell, a stored time in local time."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

DASH = "—"


def cell_item(text: str, tooltip: str = "", align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tooltip:
        item.setToolTip(tooltip)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def local_time(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite may hand them back without a zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()
