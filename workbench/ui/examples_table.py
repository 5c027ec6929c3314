"""Few-shot examples as an editable table: enabled, input, output."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.prompts import FewShotExample


class ExamplesTable(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["On", "Input", "Output"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(24)
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
        self.add_button.clicked.connect(lambda: self.add_example(FewShotExample("", "")))
        self.delete_button.clicked.connect(self.delete_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))

    def examples(self) -> list[FewShotExample]:
        result = []
        for row in range(self.table.rowCount()):
            on = self.table.item(row, 0)
            result.append(FewShotExample(
                self._text(row, 1), self._text(row, 2),
                enabled=on is None or on.checkState() == Qt.CheckState.Checked))
        return result

    def set_examples(self, examples: list[FewShotExample]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for example in examples:
            self._append(example)
        self.table.blockSignals(False)
        self.changed.emit()

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
        self.set_examples(examples)
        self.table.selectRow(target)

    def _append(self, example: FewShotExample) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        on = QTableWidgetItem()
        on.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable)
        on.setCheckState(Qt.CheckState.Checked if example.enabled else Qt.CheckState.Unchecked)
        self.table.setItem(row, 0, on)
        self.table.setItem(row, 1, QTableWidgetItem(example.input))
        self.table.setItem(row, 2, QTableWidgetItem(example.output))

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item else ""
