"""The Plugins menu of the main window: plugin actions and panels, failures and safe mode
reported in place, the Plugins dialog (a MainWindow mixin)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QWidget

from ..services.plugins import SAFE_MODE_STATUS


class PluginsMenu:
    """Mixed into MainWindow: uses its services, menu bar and plugin banner."""

    def _build_plugins_menu(self) -> None:
        """Plugin panels as docks, plugin actions in the menu, failures reported in place."""
        menu = self.menuBar().addMenu("&Plugins")
        menu.addAction("Manage plugins…", lambda: self.open_plugins_dialog())
        plugins = self.services.plugins
        if plugins is None:
            return
        for name, action in plugins.contributions("register_menu_actions"):
            menu.addAction(action.title, lambda a=action, n=name: plugins.guarded(
                n, f"menu action '{a.title}'", a.run, self.services, in_thread=False))
        for name, panel in plugins.contributions("register_panels"):
            ok, widget = plugins.guarded(name, f"panel '{panel.title}'", panel.create,
                                         self.services, in_thread=False)
            if ok and isinstance(widget, QWidget):
                dock = QDockWidget(panel.title, self)
                dock.setObjectName(f"plugin-{name}-{panel.title}")
                dock.setWidget(widget)
                self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            elif ok:
                plugins.fail(name, f"panel '{panel.title}' returned {type(widget).__name__}, "
                                   "not a QWidget")
        self.report_plugin_failures()

    def report_plugin_failures(self) -> None:
        plugins = self.services.plugins
        if plugins is not None and plugins.safe_mode:
            skipped = [r.name for r in plugins.records.values()
                       if r.status == SAFE_MODE_STATUS]
            self.plugin_banner.show_message(
                f"Safe mode: {len(skipped)} installed plugin(s) not loaded"
                + (f" ({', '.join(skipped)})" if skipped else "")
                + ". Start without --safe-mode to load them.", "info")
            return
        failed = [r.name for r in plugins.records.values() if r.status == "failed"] if plugins else []
        if failed:
            self.plugin_banner.show_message(
                f"Switched off {len(failed)} plugin(s) that failed: {', '.join(failed)}. "
                "Plugins ▸ Manage plugins… shows why.", "error")

    def open_plugins_dialog(self, exec_dialog: bool = True):
        from .plugins_dialog import PluginsDialog

        if self.services.plugins is None:
            return None
        dialog = PluginsDialog(self.services.plugins, self)
        if exec_dialog:
            dialog.open()  # window-modal without a nested event loop: tests can click in it
        self.plugins_dialog = dialog
        return dialog
