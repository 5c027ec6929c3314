"""The File, Edit, View and Help menus and their keys, driven as the user drives them."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMessageBox,
)

from tests.ui.conftest import make_window
from tests.ui.test_workbench import compose, set_variants
from workbench.core.runs import RunStatus
from workbench.ui import menus, sessions_panel


def menu_action(window, menu_title: str, action_text: str):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == menu_title)
    return next(a for a in menu.actions() if a.text() == action_text)


def activate(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)


def test_the_menu_bar_reads_file_edit_view_then_the_rest_then_help(main_window):
    titles = [a.text() for a in main_window.menuBar().actions()]
    assert titles[:3] == ["&File", "&Edit", "&View"]
    assert titles[-1] == "&Help"
    assert "&Tune" in titles and "&Plugins" in titles


def test_typing_marks_the_title_and_ctrl_s_saves_a_version(qtbot, main_window):
    window = main_window
    activate(qtbot, window)
    name = window.workspace.session.name
    assert window.windowTitle() == f"{name} — Prompt Workbench"
    versions = len(window.workspace.history)
    window.composer.system_edit.setFocus()
    qtbot.keyClicks(window.composer.system_edit, "Be brief.")
    assert window.windowTitle() == f"● {name} — Prompt Workbench"
    qtbot.keyClick(window.composer.system_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(window.workspace.history) == versions + 1
    assert window.workspace.latest.system_prompt.endswith("Be brief.")
    assert window.windowTitle() == f"{name} — Prompt Workbench"


def test_reopening_without_edits_shows_no_restored_banner(qtbot, app_services):
    window = make_window(qtbot, app_services)
    qtbot.keyClicks(window.composer.system_edit, "Hello")
    window.menus.save_action.trigger()
    window.save_draft()  # what closing the window does: a draft equal to the saved version
    window.close()
    again = make_window(qtbot, app_services, wait_for_model=False)
    assert "Restored unsaved edits" not in again.banner.text
    qtbot.keyClicks(again.composer.system_edit, " world")
    again.close()  # saves the draft, which now differs
    third = make_window(qtbot, app_services, wait_for_model=False)
    assert "Restored unsaved edits" in third.banner.text
    assert third.windowTitle().startswith("● ")


def test_ctrl_enter_runs_and_esc_stops(qtbot, main_window):
    window = main_window
    activate(qtbot, window)
    compose(window, cases=("Spain",))
    set_variants(window, ("long", 0.8, 400))
    assert not window.menus.stop_action.isEnabled()  # nothing to stop yet
    window.composer.template_edit.setFocus()
    qtbot.keyClick(window.composer.template_edit, Qt.Key.Key_Return,
                   Qt.KeyboardModifier.ControlModifier)
    assert window.compare.running
    assert window.menus.stop_action.isEnabled()
    with qtbot.waitSignal(window.compare.run_finished, timeout=120_000) as done:
        qtbot.keyClick(window.composer.template_edit, Qt.Key.Key_Escape)
    assert done.args[0] is RunStatus.CANCELLED
    assert not window.menus.stop_action.isEnabled()


def test_ctrl_enter_is_left_to_the_chat_tab_there(qtbot, main_window):
    window = main_window
    window.menus.tab_actions[1].trigger()  # View ▸ Chat
    assert window.tabs.currentWidget() is window.chat
    assert not window.menus.run_action.isEnabled()
    window.menus.tab_actions[0].trigger()
    assert window.menus.run_action.isEnabled()


def test_new_session_from_the_file_menu(qtbot, main_window, monkeypatch):
    monkeypatch.setattr(sessions_panel.QInputDialog, "getText",
                        lambda *a, **k: ("From the menu", True))
    menu_action(main_window, "&File", "&New session…").trigger()
    assert main_window.workspace.session.name == "From the menu"
    assert main_window.windowTitle() == "From the menu — Prompt Workbench"


def test_export_then_import_a_session_through_the_file_menu(qtbot, main_window, monkeypatch,
                                                            tmp_path):
    window = main_window
    qtbot.keyClicks(window.composer.system_edit, "Exported prompt")
    window.menus.save_action.trigger()
    target = tmp_path / "out.json"
    monkeypatch.setattr(menus, "ask_save_path", lambda *a: str(target))
    menu_action(window, "&File", "&Export session…").trigger()
    qtbot.waitUntil(lambda: "Exported" in window.banner.text, timeout=30_000)
    assert target.exists() and str(target) in window.banner.text

    window.sessions_panel.delete(window.workspace.session.id)
    monkeypatch.setattr(menus, "ask_open_path", lambda *a: str(target))
    menu_action(window, "&File", "&Import session…").trigger()
    qtbot.waitUntil(lambda: "Imported the session" in window.banner.text, timeout=30_000)
    assert window.workspace.latest.system_prompt == "Exported prompt"


def test_importing_a_bad_file_says_which_and_why(qtbot, main_window, monkeypatch, tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("this is not an export")
    monkeypatch.setattr(menus, "ask_open_path", lambda *a: str(bad))
    menu_action(main_window, "&File", "&Import session…").trigger()
    qtbot.waitUntil(lambda: "Cannot import notes.json" in main_window.banner.text,
                    timeout=30_000)
    assert main_window.banner.kind == "error"


def test_help_lists_the_shortcuts_and_about_names_the_app(qtbot, main_window):
    menu_action(main_window, "&Help", "&Keyboard shortcuts").trigger()
    dialog = main_window.menus.shortcuts_dialog
    table = dialog.table
    rows = {table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert rows["Save version"] == "Ctrl+S"
    assert "Ctrl+Return" in rows["Run comparison"]
    assert rows["Quit"] == "Ctrl+Q"
    dialog.close()
    menu_action(main_window, "&Help", "&About Prompt Workbench").trigger()
    box = main_window.menus.about_box
    assert isinstance(box, QMessageBox) and "Prompt Workbench" in box.text()
    box.close()


def test_documentation_opens_the_docs(qtbot, main_window, monkeypatch):
    opened = []
    monkeypatch.setattr(menus, "open_url", opened.append)
    menu_action(main_window, "&Help", "&Documentation").trigger()
    assert opened and opened[0].toLocalFile().endswith("architecture.md")


def test_ctrl_q_closes_the_window(qtbot, main_window):
    activate(qtbot, main_window)
    qtbot.keyClick(main_window.composer.system_edit, Qt.Key.Key_Q,
                   Qt.KeyboardModifier.ControlModifier)
    assert not main_window.isVisible()


def test_ctrl_q_quits_right_after_an_export(qtbot, main_window, tmp_path):
    """The export's own file dialog, answered as a user would; once it has closed, Ctrl+Q
    reaches the window from whatever has the focus (it once went nowhere: where no window
    manager hands the focus back, no window was active after the dialog)."""
    window = main_window
    activate(qtbot, window)
    window.composer.system_edit.setFocus()

    def save_here() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QFileDialog)
        dialog.setDirectory(str(tmp_path))
        dialog.accept()

    QTimer.singleShot(0, save_here)  # runs inside the dialog's own event loop
    qtbot.keyClick(window.composer.system_edit, Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "Exported" in window.banner.text, timeout=30_000)
    assert list(tmp_path.glob("*.json"))
    ctrl_q_where_the_focus_is(qtbot, window)


def test_ctrl_q_quits_right_after_naming_a_new_session(qtbot, main_window):
    """The same for File ▸ New session's name dialog (any dialog: focus_return.py)."""
    window = main_window
    activate(qtbot, window)

    def name_it() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QInputDialog)
        name = dialog.findChild(QLineEdit)
        name.selectAll()
        qtbot.keyClicks(name, "Quit test")
        qtbot.keyClick(name, Qt.Key.Key_Return)

    QTimer.singleShot(0, name_it)
    qtbot.keyClick(window.composer.system_edit, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.workspace.session.name == "Quit test", timeout=30_000)
    ctrl_q_where_the_focus_is(qtbot, window)


def ctrl_q_where_the_focus_is(qtbot, window) -> None:
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    assert QApplication.focusWidget().window() is window
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()


def test_export_results_writes_the_shown_run_through_an_exporter(qtbot, monkeypatch, tmp_path):
    import csv

    from tests.plugins.test_plugins_gui import services_with_plugins
    from tests.ui.test_workbench import run_and_wait

    services = services_with_plugins()  # the built-in exporters are plugins like any other
    window = make_window(qtbot, services)
    export = menu_action(window, "&File", "Export &results…")
    export.trigger()  # nothing run yet: says what to do
    assert "Run or open a comparison first" in window.banner.text
    compose(window, cases=("Spain", "Peru"))
    set_variants(window, ("greedy", 0.0, 6))
    run_and_wait(qtbot, window)
    target = tmp_path / "results.csv"
    monkeypatch.setattr(menus, "ask_save_path", lambda *a: str(target))
    export.trigger()
    qtbot.waitUntil(lambda: "Exported 2 output(s)" in window.banner.text, timeout=30_000)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["var:country"] for r in rows] == ["Spain", "Peru"]
    assert all(r["variant"] == "greedy" and r["output"] for r in rows)
    # The model by the name the window gives it, its file beside it.
    assert {(r["model"], r["model_file"]) for r in rows} == {
        ("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")}
    # JUnit XML is a built-in exporter too, the same one `workbench eval --junit` writes
    junit = tmp_path / "results.xml"
    monkeypatch.setattr(menus, "ask_save_path", lambda *a: str(junit))
    export.trigger()
    qtbot.waitUntil(junit.exists, timeout=30_000)
    from xml.etree import ElementTree
    (suite,) = ElementTree.parse(junit).getroot().findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("greedy", "2", "0")
    services.models.close()
    services.store.close()
