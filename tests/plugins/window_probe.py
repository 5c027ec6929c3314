"""Run by test_plugin_new.py in a venv where a generated plugin is installed: the window as
`workbench` builds it, and what the plugin put in it, printed as JSON.

Usage: python window_probe.py PLUGIN_NAME PANEL_TITLE MENU_TITLE
"""

from __future__ import annotations

import json
import os
import sys

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget

from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins
from workbench.services.sessions import open_store
from workbench.ui.main_window import AppServices, MainWindow


def main(plugin: str, panel: str, menu_title: str) -> None:
    app = QApplication([])
    models = ModelService()
    services = AppServices(models=models, store=open_store(), plugins=start_plugins(models))
    settings = QSettings(str(app_paths().ensure().config / "window.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(services, settings)
    window.show()
    app.processEvents()
    docks = [d.windowTitle() for d in window.findChildren(QDockWidget)]
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Plugins")
    entries = [a.text() for a in menu.actions()]
    next(a for a in menu.actions() if a.text() == menu_title).trigger()  # as a user picks it
    dialog = window.open_plugins_dialog(exec_dialog=False)
    row = dialog.row_of(plugin)
    print(json.dumps({
        "panel_docked": panel in docks,
        "menu_entries": entries,
        "clipboard": QGuiApplication.clipboard().text().splitlines(),
        "dialog_row": None if row < 0 else [
            dialog.table.item(row, column).text() for column in range(1, 6)],
        "banner": window.plugin_banner.text,
    }))
    window.close()
    services.store.close()
    models.close()
    sys.stdout.flush()
    os._exit(0)  # as the app leaves (ui/app.py): PySide6's own teardown may abort


if __name__ == "__main__":
    main(*sys.argv[1:4])
