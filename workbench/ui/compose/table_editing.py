"""Spreadsheet-like editing for the composer's tables.

Qt's default needs a double-click before a cell takes text, which users of the examples and
cases tables tripped over every minute: here a click on a cell, or just typing, starts editing,
and a freshly added row has its cursor waiting in the first cell.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QWidget

Trigger = QAbstractItemView.EditTrigger
TYPE_READY = (Trigger.CurrentChanged | Trigger.SelectedClicked | Trigger.DoubleClicked
              | Trigger.EditKeyPressed | Trigger.AnyKeyPressed)


def make_type_ready(table: QTableWidget) -> None:
    table.setEditTriggers(TYPE_READY)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)


def start_editing(table: QTableWidget, row: int, column: int) -> None:
    """Put the text cursor in a cell, as if the user had clicked it."""
    item = table.item(row, column)
    if item is None:
        return
    table.setFocus()
    table.setCurrentCell(row, column)  # opens the editor when the current cell moves
    table.scrollToItem(item)
    if table.state() != QAbstractItemView.State.EditingState:  # it was already current
        table.editItem(item)


def open_editor(table: QTableWidget) -> QWidget | None:
    """The cell editor the user is typing into, if one is open (for tests and shortcuts)."""
    editors = [w for w in table.viewport().findChildren(QWidget)
               if w.isVisible() and w.parent() is table.viewport()]
    return editors[0] if len(editors) == 1 else None
