"""Plugins in the window: panels, menu actions, the Plugins dialog, flagged cells."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtWidgets import QDockWidget, QLabel

from tests.plugins.conftest import install
from tests.ui.conftest import make_window
from tests.ui.test_workbench import compose, run_and_wait, set_variants
from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins
from workbench.services.sessions import open_store
from workbench.ui.main_window import AppServices


def services_with_plugins(*samples):
    install(*samples)
    models = ModelService()
    plugins = start_plugins(models)
    plugins.hook_timeout_s = 1.0
    return AppServices(models=models, store=open_store(), plugins=plugins)


def test_panels_menu_actions_and_the_plugins_dialog(qtbot):
    services = services_with_plugins("good_plugin", "broken_import")
    try:
        window = make_window(qtbot, services)
        docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
        assert isinstance(docks["Sample panel"].widget(), QLabel)  # register_panels
        menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Plugins")
        hello = next(a for a in menu.actions() if a.text() == "Say hello")  # register_menu_actions
        hello.trigger()
        assert ("menu", "hello") in sys.modules["workbench_plugin_good_plugin"].EVENTS
        assert "broken_import" in window.plugin_banner.text  # failures are reported in place
        dialog = window.open_plugins_dialog(exec_dialog=False)
        row = dialog.row_of("broken_import")
        assert dialog.table.item(row, 5).text() == "failed"
        dialog.show_details(row)
        assert "Traceback" in dialog.details.toPlainText()
        row = dialog.row_of("safety_filter")
        dialog.table.item(row, 0).setCheckState(dialog.table.item(row, 0).checkState().Unchecked)
        assert "safety_filter" in services.plugins.disabled_names()
    finally:
        services.models.close()
        services.store.close()


def test_flagged_cells_are_marked_with_the_reason(qtbot):
    (app_paths().ensure().config / "safety_filter.json").write_text(
        json.dumps({"patterns": [r"\w+"], "pii": True}))
    services = services_with_plugins()
    try:
        window = make_window(qtbot, services)
        compose(window, cases=("Spain",))
        set_variants(window, ("only", 0.0, 8))
        run_and_wait(qtbot, window)
        cell = next(iter(window.compare.cells.values()))
        qtbot.waitUntil(lambda: cell.flags.isVisible(), timeout=5_000)
        assert "matches /\\w+/" in cell.flags.text()
        assert "ROUGE-L" not in cell.stats.text()  # no expected output: the scorer abstains
    finally:
        services.models.close()
        services.store.close()


def test_safe_mode_on_the_command_line():
    done = subprocess.run([sys.executable, "-m", "workbench", "--safe-mode", "plugins"],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    lines = [l for l in done.stdout.splitlines() if "safety_filter" in l or "openai_compat" in l]
    assert len(lines) == 2 and all("not loaded (safe mode)" in l for l in lines)
    normal = subprocess.run([sys.executable, "-m", "workbench", "plugins"], capture_output=True,
                            text=True, timeout=120, env=os.environ.copy())
    assert "safety_filter" in normal.stdout and "output_filters" in normal.stdout


def test_a_plugin_setting_is_edited_in_the_plugins_dialog(qtbot):
    """register_settings through the product: the dialog lists the plugin's setting, the user
    types a new entry and saves, and the plugin reads it at once."""
    from PySide6.QtCore import Qt

    services = services_with_plugins("good_plugin")
    try:
        window = make_window(qtbot, services)
        dialog = window.open_plugins_dialog(exec_dialog=False)
        row = dialog.row_of("good_plugin")
        dialog.table.selectRow(row)
        qtbot.waitUntil(lambda: bool(dialog.setting_editors), timeout=5_000)
        (_, editor), = dialog.setting_editors
        assert editor.toPlainText().strip() == "hello"
        editor.moveCursor(editor.textCursor().MoveOperation.End)
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        qtbot.keyClicks(editor, "bonjour")
        qtbot.mouseClick(dialog.save_settings_button, Qt.MouseButton.LeftButton)
        assert sys.modules["workbench_plugin_good_plugin"].GREETINGS == ["hello", "bonjour"]
    finally:
        services.models.close()
        services.store.close()


def test_safe_mode_in_the_window_loads_no_plugin_and_says_so(qtbot):
    """`workbench --safe-mode`: the window opens with the built-in features only (local
    models still load), no plugin panel or action, and a line saying what was left out."""
    from workbench.ui.app import create_main_window

    install("good_plugin")
    window, services = create_main_window(safe_mode=True)
    qtbot.addWidget(window)
    try:
        window.show()
        with qtbot.waitSignal(window.models.loaded, timeout=60_000):
            window.start(None)  # the bundled model, through the built-in llama.cpp backend
        assert "Sample panel" not in {d.windowTitle() for d in window.findChildren(QDockWidget)}
        menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Plugins")
        assert "Say hello" not in [a.text() for a in menu.actions()]
        assert "Safe mode" in window.plugin_banner.text and "good_plugin" in \
            window.plugin_banner.text
        dialog = window.open_plugins_dialog(exec_dialog=False)
        assert dialog.table.item(dialog.row_of("good_plugin"), 5).text() == \
            "not loaded (safe mode)"
    finally:
        services.models.close()
        services.store.close()
