"""The session list: new, rename, delete, search."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.sessions import Session
from ..services.sessions import SessionService
from ..services.workspace import WorkspaceService


class SessionsPanel(QWidget):
    session_chosen = Signal(str)
    create_requested = Signal(str)

    def __init__(self, workspace: WorkspaceService, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.sessions: list[Session] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(placeholderText="Search sessions, prompts, outputs…")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.list = QListWidget()
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        for button in (self.new_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.list.currentItemChanged.connect(self._on_current)
        self.new_button.clicked.connect(self._ask_new)
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self._ask_delete)

    def refresh(self, select: str | None = None) -> None:
        select = select or self.current_id()
        self.sessions = self.workspace.sessions()
        wanted = self.search.text().strip()
        shown = self.sessions
        if wanted:
            hits = {h.session_id for h in SessionService(self.workspace.store).search(wanted)}
            shown = [s for s in shown if wanted.lower() in s.name.lower() or s.id in hits]
        self.list.blockSignals(True)
        self.list.clear()
        for session in shown:
            item = QListWidgetItem(session.name)
            item.setData(Qt.ItemDataRole.UserRole, session.id)
            item.setToolTip(f"updated {session.updated_at:%Y-%m-%d %H:%M}")
            self.list.addItem(item)
            if session.id == select:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _on_current(self, current, _previous) -> None:
        if current is not None:
            self.session_chosen.emit(current.data(Qt.ItemDataRole.UserRole))

    def _ask_new(self) -> None:
        name, ok = QInputDialog.getText(self, "New session", "Name:",
                                        text=f"Session {len(self.sessions) + 1}")
        if ok and name.strip():
            self.create_requested.emit(name.strip())

    def _ask_rename(self) -> None:
        session_id = self.current_id()
        if session_id is None:
            return
        old = self.list.currentItem().text()
        name, ok = QInputDialog.getText(self, "Rename session", "Name:", text=old)
        if ok and name.strip():
            self.workspace.rename(session_id, name.strip())
            self.refresh(session_id)

    def _ask_delete(self) -> None:
        session_id = self.current_id()
        if session_id is None:
            return
        name = self.list.currentItem().text()
        answer = QMessageBox.question(self, "Delete session",
                                      f"Delete '{name}' with its prompts, runs and ratings?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(session_id)

    def delete(self, session_id: str) -> None:
        self.workspace.delete(session_id)
        self.refresh()
        if self.list.count():
            self.list.setCurrentRow(0)
