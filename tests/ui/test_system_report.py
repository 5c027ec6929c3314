"""Help ▸ System report…: the doctor's report in a dialog, copied as the user copies it."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.test_menus import menu_action
from workbench.ui.system_report import COLLECTING


def test_help_system_report_shows_every_section_and_copies_it(qtbot, main_window):
    heavy_before = {name: name in sys.modules for name in ("torch", "llama_cpp")}
    menu_action(main_window, "&Help", "&System report…").trigger()
    dialog = main_window.menus.system_report
    assert dialog.isVisible()  # open(), not exec(): the trigger returned at once
    qtbot.waitUntil(lambda: bool(dialog.checks), timeout=60_000)
    report = dialog.report()
    for section in ("Python", "llama.cpp", "GPUs", "Offload", "PyTorch", "Qt", "Database",
                    "Plugins"):
        assert section in report.splitlines()
    assert " GPU layers and " in report and dialog.summary.text() != COLLECTING
    # PyTorch's and llama.cpp's lines come from their files or child processes: the window's
    # process loads neither for a report
    assert {name: name in sys.modules for name in heavy_before} == heavy_before
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == report
    dialog.close()
