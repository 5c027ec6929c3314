"""Small things a user meets every minute: banners that must not move the controls, the
model's name in the status bar, an offline Hub search, plugin descriptions and settings."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.fixtures.fake_hub import hf_env  # noqa: F401 - pytest fixture
from tests.plugins.test_plugins_gui import services_with_plugins
from tests.ui.conftest import make_window
from workbench.services.library import LibraryService
from workbench.ui.library.hub_dialog import HubBrowser


def position(widget, window) -> QPoint:
    return widget.mapTo(window, QPoint(0, 0))


def test_a_banner_does_not_move_the_controls(qtbot, main_window):
    window = main_window
    watched = [window.compare.run_button, window.composer.system_edit, window.tabs.tabBar()]
    QApplication.processEvents()
    before = [position(w, window) for w in watched]
    window.banner.show_message("A long message that wraps. " * 12)
    window.plugin_banner.show_message("A plugin failed.", "error")
    QApplication.processEvents()  # let any layout settle before measuring again
    assert [position(w, window) for w in watched] == before
    assert window.banner.isVisible() and window.banner.height() > 0
    # Over the page, below the tab bar (the tabs stay clickable); the second one below it.
    tab_bar_bottom = window.tabs.tabBar().geometry().bottom()
    assert window.banner.geometry().top() > tab_bar_bottom
    assert window.plugin_banner.geometry().top() > window.banner.geometry().bottom()
    qtbot.mouseClick(window.banner.close_button,
                     Qt.MouseButton.LeftButton)
    assert window.banner.text == ""  # ✕ dismissed it


def test_the_status_bar_names_the_model_as_the_picker_does(qtbot, main_window):
    window = main_window
    chosen = window.picker.chosen()
    assert chosen and chosen != window.models.metadata.name  # the GGUF's own name differs
    qtbot.waitUntil(lambda: window.models_status.text() == f"Loaded: {chosen}", timeout=5_000)
    assert "?" not in window.models_status.text()


@pytest.fixture
def hub(qtbot, hf_env):  # noqa: F811 - the fixture imported above
    service = LibraryService()
    browser = HubBrowser(service)
    qtbot.addWidget(browser)
    browser.show()
    yield browser
    service.close()


def test_an_unreachable_hub_says_offline_plainly_and_soon(qtbot, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused
    qtbot.keyClicks(hub.search_edit, "smol")
    qtbot.mouseClick(hub.search_button, Qt.MouseButton.LeftButton)
    # huggingface_hub alone retries for ~23 s; the answer must come well before that.
    qtbot.waitUntil(lambda: "You appear to be offline" in hub.banner.text, timeout=10_000)
    assert "Errno" not in hub.banner.text and "ConnectError" not in hub.banner.text
    assert hub.search_button.isEnabled() and hub.cancel_button.isHidden()


def test_a_search_that_hangs_can_be_cancelled(qtbot, hub, monkeypatch):
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        qtbot.keyClicks(hub.search_edit, "smol")
        qtbot.keyClick(hub.search_edit, Qt.Key.Key_Return)
        assert not hub.search_button.isEnabled() and hub.cancel_button.isVisible()
        qtbot.mouseClick(hub.cancel_button, Qt.MouseButton.LeftButton)
        assert hub.search_button.isEnabled() and hub.search_button.text() == "Search"
        assert hub.cancel_button.isHidden()
        assert "cancelled" in hub.banner.text
    finally:
        silent.close()


def test_plugins_show_what_they_do_and_the_word_list_applies_at_once(qtbot):
    services = services_with_plugins()
    try:
        window = make_window(qtbot, services, wait_for_model=False)
        menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Plugins")
        next(a for a in menu.actions() if a.text() == "Manage plugins…").trigger()
        dialog = window.plugins_dialog
        assert dialog.isVisible()
        row = dialog.row_of("safety_filter")
        assert "Flag outputs" in dialog.table.item(row, 6).text()  # its docstring
        assert services.plugins.check_output("a banana split") == []
        cell = dialog.table.item(row, 1)
        qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton,
                         pos=dialog.table.visualItemRect(cell).center())
        assert "Flag outputs" in dialog.details.toPlainText()
        assert dialog.settings_box.isVisible()
        editor = dialog.setting_editors[0][1]
        qtbot.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton)
        qtbot.keyClicks(editor, "banana")
        qtbot.mouseClick(dialog.save_settings_button, Qt.MouseButton.LeftButton)
        assert "Saved" in dialog.settings_status.text()
        flags = services.plugins.check_output("a banana split")  # no restart needed
        assert [f.reason for f in flags] == ["blocked word 'banana'"]
        # Reopened, the list shows what was saved.
        dialog.close()
        next(a for a in menu.actions() if a.text() == "Manage plugins…").trigger()
        again = window.plugins_dialog
        again.table.setCurrentCell(again.row_of("safety_filter"), 1)
        assert again.setting_editors[0][1].toPlainText() == "banana"
    finally:
        services.models.close()
        services.store.close()


def test_a_plugin_without_settings_shows_none(qtbot):
    services = services_with_plugins()
    try:
        window = make_window(qtbot, services, wait_for_model=False)
        dialog = window.open_plugins_dialog()
        cell = dialog.table.item(dialog.row_of("quality_scorers"), 1)
        qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton,
                         pos=dialog.table.visualItemRect(cell).center())
        assert dialog.settings_box.isHidden()
    finally:
        services.models.close()
        services.store.close()


def test_a_note_goes_when_the_user_moves_to_another_tab_an_error_stays(qtbot, main_window):
    window = main_window
    window.banner.show_message("Imported the suite.", "info")
    qtbot.mouseClick(window.tabs.tabBar(), Qt.MouseButton.LeftButton,
                     pos=window.tabs.tabBar().tabRect(1).center())
    assert window.banner.text == ""
    window.banner.show_message("The model file is not a GGUF file.")
    qtbot.mouseClick(window.tabs.tabBar(), Qt.MouseButton.LeftButton,
                     pos=window.tabs.tabBar().tabRect(0).center())
    assert "not a GGUF file" in window.banner.text
