"""The model bar shows a load as it goes ("Loading 43% · NAME") and its Cancel stops it,
keeping the model in use (pytest-qt, real widgets, the real bundled model)."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from tests.ui.test_engine_settings_gui import type_into

LEFT = Qt.MouseButton.LeftButton


def test_the_bar_shows_how_far_a_load_is(qtbot, app_services):
    window = make_window(qtbot, app_services)
    picker, controller = window.picker, window.models
    assert not picker.cancel_button.isVisible()
    shown: list[str] = []
    controller.progress.connect(lambda _progress: shown.append(picker.state.text()))
    type_into(qtbot, picker.engine, "-np 1")  # new settings: a new host loads
    with qtbot.waitSignal(controller.loaded, timeout=60_000):
        qtbot.mouseClick(picker.load_button, LEFT)
        assert picker.cancel_button.isVisible() and not picker.combo.isEnabled()
    name = picker.combo.currentText()
    assert shown and all(re.fullmatch(rf"Loading \d+% · {re.escape(name)}", t) for t in shown)
    assert shown[-1].startswith("Loading 100% · ")
    assert picker.state.text().startswith(f"● {name} · ")
    assert not picker.cancel_button.isVisible()
    window.close()


def test_cancel_stops_the_load_and_keeps_the_model_in_use(qtbot, app_services):
    window = make_window(qtbot, app_services)
    picker, controller, models = window.picker, window.models, app_services.models
    in_use, state = controller.host, picker.state.text()
    type_into(qtbot, picker.engine, "-np 2")
    with qtbot.waitSignal(controller.cancelled, timeout=60_000):
        qtbot.mouseClick(picker.load_button, LEFT)
        qtbot.mouseClick(picker.cancel_button, LEFT)
    assert controller.host is in_use and in_use.alive
    assert models.loaded() == [in_use]  # the cancelled load left no host
    assert picker.state.text() == state and picker.combo.isEnabled()
    assert not picker.cancel_button.isVisible()
    assert not window.banner.isVisible()  # a cancel is no failure
    # The app stays usable: the same settings load when asked again.
    with qtbot.waitSignal(controller.loaded, timeout=60_000) as loaded:
        qtbot.mouseClick(picker.load_button, LEFT)
    assert loaded.args[0].engine["n_parallel"] == 2 and controller.host is not in_use
    window.close()
