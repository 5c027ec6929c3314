"""The Documents tab's file choosers, as module-level functions so a test can answer them
(monkeypatch the name in ``documents_panel``) while the click still goes through the button."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

DOCUMENT_FILTER = ("Documents (*.txt *.md *.markdown *.html *.htm *.pdf);;All files (*)")


def ask_open_paths(parent, title: str, file_filter: str = DOCUMENT_FILTER) -> list[str]:
    return QFileDialog.getOpenFileNames(parent, title, "", file_filter)[0]


def ask_folder(parent, title: str) -> str:
    return QFileDialog.getExistingDirectory(parent, title)


def confirm(parent, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
