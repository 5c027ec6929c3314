"""Test cases: one row of variable values each, an optional expected output, and the checks
(assertions) an output for the case must pass, edited in the assertions dialog."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
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

from ...core.cases import CaseSet
from ...core.tabular import Rows, parse_delimited
from ...services.workspace import CaseChecks, SetChecks
from ..evaluate.assertions_dialog import AssertionsDialog, value_text
from .table_editing import make_type_ready, start_editing

EXPECTED = "expected"
CHECKS = "checks"
RETRIEVED = "context"  # the variable retrieval fills (core/retrieved_context.py)
RETRIEVED_HEADER = "context (retrieval fills empty cells)"
CHECKS_ROLE = Qt.ItemDataRole.UserRole  # the row's CaseChecks, kept on its checks cell
NAMES_SHOWN = 3  # more assertions than this read as "5 checks"


def checks_summary(checks: CaseChecks, shared: SetChecks) -> str:
    """A row's checks in a few words: "contains · not-regex", "5 checks", "+2 shared"."""
    names = [a.name for a in checks.assertions]
    text = " · ".join(names) if len(names) <= NAMES_SHOWN else f"{len(names)} checks"
    if shared.default_assertions:
        text = f"{text} +{len(shared.default_assertions)} shared".strip()
    return text


def checks_tooltip(checks: CaseChecks, shared: SetChecks) -> str:
    lines = [f"{a.name}: {value_text(a.value)}".rstrip(": ") for a in checks.assertions]
    lines += [f"{a.name}: {value_text(a.value)} (every case)".rstrip(": ")
              for a in shared.default_assertions]
    return "\n".join(lines) or "No assertions: double-click to add some."


class CasesTable(QWidget):
    changed = Signal()
    checks_edited = Signal()  # the assertions dialog was accepted: worth saving at once

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.variables: list[str] = []
        self.shared = SetChecks()  # the case set's own assertions and judge
        self.judge_choices: Callable[[], list[str]] = list  # model names for the judge combos
        self.assertions_dialog: AssertionsDialog | None = None
        self.retrieval_fills = False  # retrieval is on: it fills each empty `context`
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels([EXPECTED, CHECKS])  # no variables yet
        make_type_ready(self.table)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())
        self.changed.connect(self._show_retrieved_column)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add row")
        self.delete_button = QPushButton("Delete")
        self.paste_button = QPushButton("Paste")
        self.import_button = QPushButton("Import…")
        self.assertions_button = QPushButton("Assertions…")
        self.assertions_button.setToolTip("What an output for the chosen case must pass, and "
                                          "checks for every case")
        for button in (self.add_button, self.delete_button, self.paste_button, self.import_button,
                       self.assertions_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self._add_blank())
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.paste_button.clicked.connect(lambda: self.paste())
        self.assertions_button.clicked.connect(
            lambda: self.open_assertions(self.table.currentRow()))
        self.table.cellDoubleClicked.connect(self._on_double_click)

    def set_variables(self, names: list[str]) -> None:
        """Columns follow the template's variables; values of kept columns stay."""
        if names == self.variables and self.table.columnCount() == len(names) + 2:
            return
        rows, checks = self.rows(), self.checks()
        self.variables = list(names)
        self.table.blockSignals(True)
        self.table.setColumnCount(len(names) + 2)
        self.table.setHorizontalHeaderLabels([*names, EXPECTED, CHECKS])
        self.table.setRowCount(0)
        for (variables, expected), kept in zip(rows, checks):
            self._append(variables, expected, kept)
        self.table.blockSignals(False)
        self._show_retrieved_column()

    def rows(self) -> list[tuple[dict[str, str], str | None]]:
        result = []
        for row in range(self.table.rowCount()):
            values = {name: self._text(row, col) for col, name in enumerate(self.variables)}
            expected = self._text(row, len(self.variables)) or None
            result.append((values, expected))
        return result

    def set_rows(self, rows: list[tuple[dict[str, str], str | None]]) -> None:
        """New values; each row keeps the checks of the row at its place (a draft restored
        over the saved cases keeps their assertions; ``show_checks`` sets them anew)."""
        checks = self.checks()
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for index, (variables, expected) in enumerate(rows):
            self._append(variables, expected,
                         checks[index] if index < len(checks) else CaseChecks())
        self.table.blockSignals(False)
        self.changed.emit()

    # -- the column retrieval fills ---------------------------------------------------------

    def set_filled_by_retrieval(self, active: bool) -> None:
        """Retrieval is on (or off): ``context`` is then the retrieved chunks, not a value to
        type, so its column goes while every case leaves it empty; a case that sets its own
        keeps it in view, marked as the exception."""
        self.retrieval_fills = active
        self._show_retrieved_column()

    def _show_retrieved_column(self) -> None:
        if RETRIEVED not in self.variables:
            return
        column = self.variables.index(RETRIEVED)
        own = any(self._text(row, column) for row in range(self.table.rowCount()))
        marked = self.retrieval_fills
        header = self.table.horizontalHeaderItem(column)
        if header is not None:
            header.setText(RETRIEVED_HEADER if marked else RETRIEVED)
            header.setToolTip("Retrieval fills {{ context }} with the chunks it finds for each "
                              "case; a value typed here is used instead" if marked else "")
        self.table.setColumnHidden(column, marked and not own)

    # -- checks --------------------------------------------------------------------------

    def show_checks(self, case_set: CaseSet) -> None:
        """The stored set's assertions on the rows (row i: case i) and its shared ones."""
        self.shared = SetChecks.of(case_set)
        for row in range(self.table.rowCount()):
            self._set_checks(row, CaseChecks.of(case_set.cases[row])
                             if row < len(case_set.cases) else CaseChecks())

    def checks(self) -> list[CaseChecks]:
        """Each row's assertions, threshold and description, in row order."""
        found = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, self._checks_column())
            data = item.data(CHECKS_ROLE) if item is not None else None
            found.append(data if isinstance(data, CaseChecks) else CaseChecks())
        return found

    def open_assertions(self, row: int, *, exec_dialog: bool = True) -> AssertionsDialog:
        """The assertions dialog for ``row`` (no row: only the "Every case" tab), opened
        window-modal without blocking (``self.assertions_dialog``)."""
        row = row if 0 <= row < self.table.rowCount() else -1
        checks = self.checks()[row] if row >= 0 else None
        name = ", ".join(f"{k}={v}" for k, v in self.rows()[row][0].items() if v) \
            if row >= 0 else ""
        if self.assertions_dialog is not None:
            self.assertions_dialog.close()
            self.assertions_dialog.deleteLater()
        dialog = AssertionsDialog(checks, self.shared, self.judge_choices(),
                                  name or (f"case {row + 1}" if row >= 0 else ""), self)
        dialog.accepted.connect(lambda: self._apply(row, dialog))
        self.assertions_dialog = dialog
        if exec_dialog:
            dialog.open()
        return dialog

    def _apply(self, row: int, dialog: AssertionsDialog) -> None:
        self.shared = dialog.set_checks
        if 0 <= row < self.table.rowCount() and dialog.checks is not None:
            self._set_checks(row, dialog.checks)
        for other in range(self.table.rowCount()):  # the shared count shows on every row
            self._set_checks(other, self.checks()[other])
        self.changed.emit()
        self.checks_edited.emit()

    def _on_double_click(self, row: int, column: int) -> None:
        if column == self._checks_column():
            self.open_assertions(row)

    def _checks_column(self) -> int:
        return len(self.variables) + 1

    def _set_checks(self, row: int, checks: CaseChecks) -> None:
        blocked = self.table.blockSignals(True)
        item = self.table.item(row, self._checks_column())
        if item is None:
            item = QTableWidgetItem()
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, self._checks_column(), item)
        item.setData(CHECKS_ROLE, checks)
        item.setText(checks_summary(checks, self.shared))
        item.setToolTip(checks_tooltip(checks, self.shared))
        self.table.blockSignals(blocked)

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

    def _append(self, variables: dict[str, str], expected: str | None,
                checks: CaseChecks | None = None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, name in enumerate(self.variables):
            self.table.setItem(row, column, QTableWidgetItem(variables.get(name, "")))
        self.table.setItem(row, len(self.variables), QTableWidgetItem(expected or ""))
        self._set_checks(row, checks or CaseChecks())

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item else ""
