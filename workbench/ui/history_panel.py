"""Prompt version history: diff any two, restore, fork."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.diff import version_text
from ..core.prompts import PromptVersion
from .compare.diff_view import DiffDialog


class HistoryPanel(QWidget):
    restore_requested = Signal(object)  # PromptVersion
    fork_requested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.versions: list[PromptVersion] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.diff_button = QPushButton("Diff")
        self.restore_button = QPushButton("Restore")
        self.fork_button = QPushButton("Fork")
        for button in (self.diff_button, self.restore_button, self.fork_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.diff_button.clicked.connect(lambda: self.diff_selected())
        self.restore_button.clicked.connect(lambda: self._emit_selected(self.restore_requested))
        self.fork_button.clicked.connect(lambda: self._emit_selected(self.fork_requested))

    def show_versions(self, versions: list[PromptVersion]) -> None:
        self.versions = list(versions)
        self.list.clear()
        for number, version in reversed(list(enumerate(versions, 1))):
            note = f" — {version.note}" if version.note else ""
            item = QListWidgetItem(f"v{number}  {version.created_at:%m-%d %H:%M}{note}")
            item.setData(Qt.ItemDataRole.UserRole, number - 1)
            item.setToolTip(version_text(version.system_prompt, version.examples,
                                         version.user_template))
            self.list.addItem(item)

    def selected(self) -> list[PromptVersion]:
        indexes = sorted(i.data(Qt.ItemDataRole.UserRole) for i in self.list.selectedItems())
        return [self.versions[i] for i in indexes]

    def select_numbers(self, *numbers: int) -> None:
        """Select versions by number (v1 = 1), as a user would click them."""
        self.list.clearSelection()
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) + 1 in numbers:
                item.setSelected(True)

    def diff_selected(self, exec_dialog: bool = True) -> DiffDialog | None:
        chosen = self.selected()
        if len(chosen) != 2:
            return None
        old, new = chosen
        number = {v.id: i for i, v in enumerate(self.versions, 1)}
        dialog = DiffDialog(
            "Prompt version diff", f"v{number[old.id]}",
            version_text(old.system_prompt, old.examples, old.user_template),
            f"v{number[new.id]}", version_text(new.system_prompt, new.examples, new.user_template),
            self)
        if exec_dialog:
            dialog.exec()
        return dialog

    def _emit_selected(self, signal) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            signal.emit(chosen[0])
