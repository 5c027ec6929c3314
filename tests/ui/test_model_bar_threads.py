"""The model bar's -t flag: typed as on a llama-server command line, loaded with, and the
reason for the thread count shown on hover (auto follows the machine's load)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from tests.ui.test_engine_settings_gui import type_into


def test_threads_typed_in_the_bar_load_the_model_and_say_why(qtbot, app_services):
    window = make_window(qtbot, app_services)
    picker = window.picker
    assert "Threads: " in picker.state.toolTip()  # auto, with the load it read
    type_into(qtbot, picker.engine, "-t 1 -np 1")
    with qtbot.waitSignal(window.models.loaded, timeout=60_000) as loaded:
        qtbot.mouseClick(picker.load_button, Qt.MouseButton.LeftButton)
    assert loaded.args[0].engine["n_threads"] == 1
    assert "Threads: 1 thread as set" in picker.state.toolTip()
    window.close()
