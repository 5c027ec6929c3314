"""The Plugins dialog: each plugin with version, source, hooks and state; enable/disable;
what went wrong in a details pane."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..plugins.manager import PluginManager

COLUMNS = ["On", "Plugin", "Version", "Source", "Hooks", "State"]


class PluginsDialog(QDialog):
    def __init__(self, manager: PluginManager, parent=None):
        super().__init__(parent)
        self.manager = manager
        self.setWindowTitle("Plugins")
        self.resize(900, 480)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Plugins are trusted code: they run with your rights. "
                                "Start with <code>workbench --safe-mode</code> to load none. "
                                "Changes take effect at the next start."))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("Select a plugin to see what went wrong, if anything.")
        self.details.setMaximumHeight(160)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.fill()
        self.table.currentCellChanged.connect(lambda row, *_: self.show_details(row))
        self.table.itemChanged.connect(self._on_toggled)

    def fill(self) -> None:
        self.table.blockSignals(True)
        records = list(self.manager.records.values())
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            on = QTableWidgetItem()
            if record.source == "built-in":
                on.setFlags(Qt.ItemFlag.ItemIsEnabled)
                on.setCheckState(Qt.CheckState.Checked)
            else:
                on.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                on.setCheckState(Qt.CheckState.Unchecked if record.status == "disabled"
                                 else Qt.CheckState.Checked)
            on.setData(Qt.ItemDataRole.UserRole, record.name)
            self.table.setItem(row, 0, on)
            hooks = ", ".join(h.replace("register_", "") for h in record.hooks)
            for column, text in enumerate([record.name, record.version, record.source, hooks,
                                           record.status], 1):
                item = QTableWidgetItem(text)
                if record.status == "failed":
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)

    def row_of(self, name: str) -> int:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 1).text() == name:
                return row
        return -1

    def show_details(self, row: int) -> None:
        if row < 0:
            return
        record = self.manager.records[self.table.item(row, 1).text()]
        text = record.error + ("\n\n" + record.details if record.details else "")
        self.details.setPlainText(text or f"{record.name}: {record.status}, no problems.")

    def _on_toggled(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        self.manager.set_enabled(name, item.checkState() == Qt.CheckState.Checked)
        self.fill()
