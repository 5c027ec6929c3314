"""The Plugins dialog: each plugin with version, source, hooks, state and what it does;
enable/disable; what went wrong in a details pane; the selected plugin's settings
(``register_settings``), saved at once."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..services.plugins import PluginManager

COLUMNS = ["On", "Plugin", "Version", "Source", "Hooks", "State", "Description"]


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
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("Select a plugin to see what went wrong, if anything.")
        self.details.setMaximumHeight(160)
        layout.addWidget(self.details)
        self.settings_box = QGroupBox("Settings")
        self.settings_layout = QVBoxLayout(self.settings_box)
        self.settings_box.hide()
        self.setting_editors: list[tuple[object, QPlainTextEdit]] = []
        self.settings_status = QLabel()
        self.save_settings_button = QPushButton("Save settings")
        self.save_settings_button.clicked.connect(lambda: self.save_settings())
        layout.addWidget(self.settings_box)
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
                                           record.status, record.description], 1):
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
        about = f"{record.name}: {record.description}\n\n" if record.description else ""
        self.details.setPlainText(about + (text or f"{record.name}: {record.status}, "
                                                   "no problems."))
        self.show_settings(record.name if record.active else None)

    def show_settings(self, plugin: str | None) -> None:
        """The plugin's settings as editable lists, one entry a line."""
        while self.settings_layout.count():
            widget = self.settings_layout.takeAt(0).widget()
            if widget is not None and widget not in (self.settings_status,
                                                     self.save_settings_button):
                widget.deleteLater()
        self.setting_editors = []
        self.settings_plugin = plugin
        settings = self.manager.settings_of(plugin) if plugin else []
        for setting in settings:
            ok, entries = self.manager.guarded(plugin, f"setting '{setting.label}'",
                                               setting.load, in_thread=False)
            label = QLabel(f"<b>{setting.label}</b>" + (f" — {setting.help}" if setting.help
                                                       else ""))
            editor = QPlainTextEdit("\n".join(entries) if ok and entries else "")
            editor.setObjectName(f"setting-{setting.label}")
            editor.setMaximumHeight(120)
            self.settings_layout.addWidget(label)
            self.settings_layout.addWidget(editor)
            self.setting_editors.append((setting, editor))
        self.settings_status.setText("")
        self.settings_layout.addWidget(self.settings_status)
        self.settings_layout.addWidget(self.save_settings_button)
        self.settings_box.setTitle(f"Settings of {plugin}" if settings else "Settings")
        self.settings_box.setVisible(bool(settings))

    def save_settings(self) -> None:
        plugin = self.settings_plugin
        for setting, editor in self.setting_editors:
            entries = [line.strip() for line in editor.toPlainText().splitlines() if line.strip()]
            ok, _ = self.manager.guarded(plugin, f"saving setting '{setting.label}'",
                                         setting.save, entries, in_thread=False)
            if not ok:
                record = self.manager.records[plugin]
                self.settings_status.setText(f"Could not save {setting.label}: {record.error}")
                self.fill()
                return
        self.settings_status.setText("Saved: it applies from the next output on.")

    def _on_toggled(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        self.manager.set_enabled(name, item.checkState() == Qt.CheckState.Checked)
        self.fill()
