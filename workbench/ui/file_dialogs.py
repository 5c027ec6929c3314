"""The window's file and folder choosers and its yes/no question, as module-level functions so
a test can answer them (monkeypatch the name in the module that calls it) while the click still
goes through the menu or the button."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox


def ask_open_path(parent, title: str, file_filter: str) -> str:
    return QFileDialog.getOpenFileName(parent, title, "", file_filter)[0]


def ask_save_path(parent, title: str, suggested: str, file_filter: str) -> str:
    return QFileDialog.getSaveFileName(parent, title, suggested, file_filter)[0]


def ask_open_paths(parent, title: str, file_filter: str) -> list[str]:
    return QFileDialog.getOpenFileNames(parent, title, "", file_filter)[0]


def ask_folder(parent, title: str) -> str:
    return QFileDialog.getExistingDirectory(parent, title)


def confirm(parent, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
