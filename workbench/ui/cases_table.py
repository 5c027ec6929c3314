"""Test cases: one row of variable values each, plus an optional expected output."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.tabular import Rows, parse_delimited
from .table_editing import make_type_ready, start_editing

EXPECTED = "expected"


class CasesTable(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.variables: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 1)
        self.table.setHorizontalHeaderLabels([EXPECTED])  # no variables yet
        make_type_ready(self.table)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add row")
        self.delete_button = QPushButton("Delete")
        self.paste_button = QPushButton("Paste")
        self.import_button = QPushButton("Import…")
        for button in (self.add_button, self.delete_button, self.paste_button, self.import_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self._add_blank())
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.paste_button.clicked.connect(lambda: self.paste())

    def set_variables(self, names: list[str]) -> None:
        """Columns follow the template's variables; values of kept columns stay."""
        if names == self.variables and self.table.columnCount() == len(names) + 1:
            return
        rows = self.rows()
        self.variables = list(names)
        self.table.blockSignals(True)
        self.table.setColumnCount(len(names) + 1)
        self.table.setHorizontalHeaderLabels([*names, EXPECTED])
        self.table.setRowCount(0)
        for variables, expected in rows:
            self._append(variables, expected)
        self.table.blockSignals(False)

    def rows(self) -> list[tuple[dict[str, str], str | None]]:
        result = []
        for row in range(self.table.rowCount()):
            values = {name: self._text(row, col) for col, name in enumerate(self.variables)}
            expected = self._text(row, len(self.variables)) or None
            result.append((values, expected))
        return result

    def set_rows(self, rows: list[tuple[dict[str, str], str | None]]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for variables, expected in rows:
            self._append(variables, expected)
        self.table.blockSignals(False)
        self.changed.emit()

    def add_row(self, variables: dict[str, str], expected: str | None) -> None:
        self.table.blockSignals(True)
        self._append(variables, expected)
        self.table.blockSignals(False)
        self.changed.emit()

    def _add_blank(self) -> None:
        # A new row is ready to type into: the cursor sits in its first cell.
        self.add_row({}, None)
        start_editing(self.table, self.table.rowCount() - 1, 0)

    def add_rows(self, rows: Rows) -> None:
        """Rows from a file or the clipboard; unknown columns become template variables."""
        extra = [c for c in rows.columns if c not in self.variables and c != EXPECTED]
        if extra:
            self.set_variables(self.variables + extra)
        for row in rows.rows:
            self.add_row({k: v for k, v in row.items() if k != EXPECTED}, row.get(EXPECTED))

    def paste(self) -> None:
        """Tab-separated lines from a spreadsheet; a first line naming the columns is a header."""
        text = QGuiApplication.clipboard().text()
        if not text.strip():
            return
        first = text.splitlines()[0].split("\t")
        if not set(first) & set(self.variables + [EXPECTED]):
            text = "\t".join([*self.variables, EXPECTED][: len(first)]) + "\n" + text
        self.add_rows(parse_delimited(text, "\t", "the clipboard"))

    def delete_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed.emit()

    def current_row(self) -> int:
        return max(0, self.table.currentRow())

    def _append(self, variables: dict[str, str], expected: str | None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, name in enumerate(self.variables):
            self.table.setItem(row, column, QTableWidgetItem(variables.get(name, "")))
        self.table.setItem(row, len(self.variables), QTableWidgetItem(expected or ""))

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item else ""
