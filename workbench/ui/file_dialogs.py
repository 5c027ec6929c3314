"""The window's file and folder choosers and its yes/no question, as module-level functions so
a test can answer them (monkeypatch the name in the module that calls it) while the click still
goes through the menu or the button.

Each hands the keyboard back to the window that asked once the dialog has closed: where no
window manager activates the window beneath a closed dialog (Xvfb, some tiling managers), no
window was active after an export and its keys, Ctrl+Q among them, went nowhere until a click.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def ask_open_path(parent, title: str, file_filter: str) -> str:
    path = QFileDialog.getOpenFileName(parent, title, "", file_filter)[0]
    give_keys_back(parent)
    return path


def ask_save_path(parent, title: str, suggested: str, file_filter: str) -> str:
    path = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)[0]
    give_keys_back(parent)
    return path


def ask_open_paths(parent, title: str, file_filter: str) -> list[str]:
    paths = QFileDialog.getOpenFileNames(parent, title, "", file_filter)[0]
    give_keys_back(parent)
    return paths


def ask_folder(parent, title: str) -> str:
    folder = QFileDialog.getExistingDirectory(parent, title)
    give_keys_back(parent)
    return folder


def confirm(parent, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    give_keys_back(parent)
    return answer == QMessageBox.StandardButton.Yes


def give_keys_back(parent: QWidget | None) -> None:
    """Activate the window a closed dialog was asked from (what a window manager does), so
    its shortcuts and the widget that had the focus work again at once."""
    window = parent.window() if parent is not None else None
    if window is not None and window.isVisible():
        window.activateWindow()
