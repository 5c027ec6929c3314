"""The window's open/save file dialogs, as module-level functions so a test can answer them
(monkeypatch the name in the module that calls it) while the click still goes through the menu."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog


def ask_open_path(parent, title: str, file_filter: str) -> str:
    return QFileDialog.getOpenFileName(parent, title, "", file_filter)[0]


def ask_save_path(parent, title: str, suggested: str, file_filter: str) -> str:
    return QFileDialog.getSaveFileName(parent, title, suggested, file_filter)[0]
