"""Few-shot examples as an editable table.

When the user template has variables and "go through the template" is ticked (the default),
the table has the test cases' shape: one column per variable plus the answer, and each example's
user message is the template rendered with its values. Unticked (or with no variables) it is the
old raw shape: input text and output text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.composition import example_as_raw, template_variables
from ...core.prompts import FewShotExample
from .table_editing import make_type_ready, start_editing

ANSWER = "answer"
NO_VARIABLES_TIP = "The user template has no variables, so examples are plain text."
TEMPLATED_TIP = ("Ticked: each example fills the template's variables, like a test case. "
                 "Unticked: each example is the user message's raw text.")


class ExamplesTable(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.template = ""
        self._templated = False  # the shape the columns have; changes only in _reshape
        self.variables: list[str] = []  # variable columns (template's, plus ones still holding values)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.template_check = QCheckBox("Examples go through the user template")
        self.template_check.setChecked(True)
        self.template_check.setEnabled(False)
        self.template_check.setToolTip(NO_VARIABLES_TIP)
        self.template_check.toggled.connect(lambda _on: self._mode_toggled())
        layout.addWidget(self.template_check)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["On", "Input", "Output"])
        self.table.verticalHeader().setDefaultSectionSize(24)
        make_type_ready(self.table)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.delete_button = QPushButton("Delete")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.import_button = QPushButton("Import…")
        for button in (self.add_button, self.delete_button, self.up_button, self.down_button,
                       self.import_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self._add_blank())
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self._layout_columns()

    @property
    def templated(self) -> bool:
        """Whether the examples are shown (and saved) as template variables right now."""
        return self._templated

    # -- content -------------------------------------------------------------------------

    def examples(self) -> list[FewShotExample]:
        result = []
        for row in range(self.table.rowCount()):
            on = self.table.item(row, 0)
            enabled = on is None or on.checkState() == Qt.CheckState.Checked
            if self.templated:
                values = {name: self._text(row, col + 1) for col, name in enumerate(self.variables)}
                result.append(FewShotExample.templated(
                    values, self._text(row, len(self.variables) + 1), enabled))
            else:
                result.append(FewShotExample(self._text(row, 1), self._text(row, 2), enabled))
        return result

    def set_examples(self, examples: list[FewShotExample]) -> None:
        """Show a stored prompt's examples in the shape they were saved in.

        Raw examples under a template with variables are an older prompt (or a user's choice):
        they stay raw. Otherwise the default, through the template, holds.
        """
        names = template_variables(self.template)
        for example in examples:
            names += [n for n in (example.variables or {}) if n not in names]
        raw = bool(examples) and not any(e.is_templated for e in examples)
        self._reshape(names, templated=not (raw and names), examples=examples)
        self.changed.emit()

    def set_template(self, template: str) -> None:
        """Columns follow the template's variables; a column still holding values stays."""
        self.template = template
        names = template_variables(template)
        current = self.examples()
        keep = [n for n in self.variables if n not in names and self._has_values(current, n)]
        if names + keep != self.variables:
            self._reshape(names + keep, self.template_check.isChecked(), current)

    def add_example(self, example: FewShotExample) -> None:
        self.table.blockSignals(True)
        self._append(example)
        self.table.blockSignals(False)
        self.changed.emit()

    def delete_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed.emit()

    def move_selected(self, step: int) -> None:
        row = self.table.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.table.rowCount():
            return
        examples = self.examples()
        examples[row], examples[target] = examples[target], examples[row]
        self._fill(examples)
        self.changed.emit()
        self.table.selectRow(target)

    # -- shape ---------------------------------------------------------------------------

    def _add_blank(self) -> None:
        # A new row is ready to type into: the cursor sits in its first text cell.
        self.add_example(FewShotExample("", ""))
        start_editing(self.table, self.table.rowCount() - 1, 1)

    def _mode_toggled(self) -> None:
        self._reshape(self.variables, self.template_check.isChecked(), self.examples())
        self.changed.emit()

    def _reshape(self, names: list[str], templated: bool,
                 examples: list[FewShotExample]) -> None:
        self.variables = list(names)
        self.template_check.blockSignals(True)
        self.template_check.setChecked(templated)
        self.template_check.blockSignals(False)
        self.template_check.setEnabled(bool(names))
        self.template_check.setToolTip(TEMPLATED_TIP if names else NO_VARIABLES_TIP)
        self._layout_columns()
        self._fill(examples)

    def _layout_columns(self) -> None:
        self._templated = self.template_check.isChecked() and bool(self.variables)
        labels = ["On", *self.variables, ANSWER] if self.templated else ["On", "Input", "Output"]
        self.table.setColumnCount(len(labels))
        self.table.setHorizontalHeaderLabels(labels)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)

    def _fill(self, examples: list[FewShotExample]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for example in examples:
            self._append(example)
        self.table.blockSignals(False)

    def _append(self, example: FewShotExample) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        on = QTableWidgetItem()
        on.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable)
        on.setCheckState(Qt.CheckState.Checked if example.enabled else Qt.CheckState.Unchecked)
        self.table.setItem(row, 0, on)
        if self.templated:
            # A raw example moving into the template fills its first variable: the usual
            # single-variable template then shows the same text where the user expects it.
            values = (example.variables if example.variables is not None
                      else {self.variables[0]: example.input})
            for column, name in enumerate(self.variables, 1):
                self.table.setItem(row, column, QTableWidgetItem(values.get(name, "")))
            self.table.setItem(row, len(self.variables) + 1, QTableWidgetItem(example.output))
        else:
            example = example_as_raw(self.template, example)
            self.table.setItem(row, 1, QTableWidgetItem(example.input))
            self.table.setItem(row, 2, QTableWidgetItem(example.output))

    @staticmethod
    def _has_values(examples: list[FewShotExample], name: str) -> bool:
        return any((e.variables or {}).get(name) for e in examples)

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item else ""
