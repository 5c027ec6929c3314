"""The window's File, Edit, View and Help menus with the usual keys.

Every action goes through the same button or service the user would use by hand, so a menu
entry can never do something the window itself does not. File dialogs and URL opening go
through module-level functions (``ask_open_path``, ``ask_save_path``, ``open_url``) so a test
can answer them while the click still goes through the menu.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..services.sessions import SessionService
from .evaluate.suite_actions import SuiteActions
from .file_dialogs import ask_open_path, ask_save_path
from .focus_return import FocusReturn
from .job_bridges import run_in_background

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXPORT_FILTER = "Session export (*.json *.json.gz)"


def app_version() -> str:
    try:
        return version("prompt-workbench")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(development)"


def open_url(url: QUrl) -> None:
    QDesktopServices.openUrl(url)


class _EnabledMirror(QObject):
    """Keeps an action enabled exactly when its button is (and ``extra()`` holds): a disabled
    action also gives up its shortcut, so Ctrl+Enter reaches the Chat tab's own shortcut
    instead of being ambiguous there."""

    def __init__(self, action: QAction, button, extra=lambda: True):
        super().__init__(action)
        self.action, self.button, self.extra = action, button, extra
        button.installEventFilter(self)
        self.update()

    def update(self) -> None:
        self.action.setEnabled(self.button.isEnabled() and self.extra())

    def eventFilter(self, _watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.EnabledChange:
            self.update()
        return False


class WindowMenus(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.sessions = SessionService(window.services.store)
        bar = window.menuBar()
        first = bar.actions()[0] if bar.actions() else None  # Tune and Plugins come after
        self.menus = [self._file_menu(), self._edit_menu(), self._view_menu()]
        for menu in self.menus:
            bar.insertMenu(first, menu)
        bar.addMenu(self._help_menu())
        # Ctrl+Q and the other keys work again as soon as a dialog closes (focus_return.py).
        self.focus_return = FocusReturn(window)

    def _action(self, menu, text: str, slot, keys=()) -> QAction:
        action = menu.addAction(text)

        def run(_checked: bool = False) -> None:
            slot()  # its result is dropped: QWidget.close() returns a bool (see ui/app.py)

        action.triggered.connect(run)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        return action

    # -- File ------------------------------------------------------------------------------

    def _file_menu(self):
        w = self.window
        menu = QMenu("&File", w)
        self.new_action = self._action(menu, "&New session…", w.sessions_panel.new_button.click,
                                       [QKeySequence.StandardKey.New])
        self.open_action = self._action(menu, "&Open session…", self.show_sessions,
                                        [QKeySequence.StandardKey.Open])
        menu.addSeparator()
        self.import_action = self._action(menu, "&Import session…", self.import_session,
                                          ["Ctrl+Shift+I"])
        self.export_action = self._action(menu, "&Export session…", self.export_session,
                                          ["Ctrl+Shift+E"])
        self.suites = SuiteActions(w, menu)  # Import suite… / Export suite…
        self.export_results_action = self._action(menu, "Export &results…",
                                                  self.export_results)
        menu.addSeparator()
        self.quit_action = self._action(menu, "&Quit", w.close, ["Ctrl+Q"])
        return menu

    def show_sessions(self) -> None:
        """Sessions are opened from their list: show it and put the keyboard there."""
        dock = self.window.sessions_panel.parentWidget()
        dock.show()
        dock.raise_()
        self.window.sessions_panel.list.setFocus()

    def import_session(self) -> None:
        path = ask_open_path(self.window, "Import a session", EXPORT_FILTER)
        if not path:
            return
        self._background(lambda: self.sessions.import_file(Path(path)), self._imported,
                         f"Cannot import {Path(path).name}")

    def _imported(self, result) -> None:
        w = self.window
        w.sessions_panel.refresh(result.session_id)
        w.open_session(result.session_id)
        what = (f"{result.total_added} new record(s)" if result.total_added
                else "nothing new: it was already here")
        w.banner.show_message(f"Imported the session: {what}.", "info")

    def export_session(self) -> None:
        w = self.window
        if w.workspace is None:
            w.banner.show_message("Open a session first: there is nothing to export.")
            return
        w.save_draft()
        session = w.workspace.session
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in session.name).strip()
        path = ask_save_path(w, "Export the session", f"{safe or 'session'}.json", EXPORT_FILTER)
        if not path:
            return
        self._background(lambda: self.sessions.export(session.id, Path(path)),
                         lambda _counts: w.banner.show_message(
                             f"Exported '{session.name}' to {path}.", "info"),
                         f"Cannot export '{session.name}'")

    def export_results(self) -> None:
        """The run shown in the grid, one row per output, in any format an exporter plugin
        writes (JSON lines and CSV built in)."""
        from ..services.results_export import export_results

        w = self.window
        run = w.compare.run
        if run is None:
            w.banner.show_message("Run or open a comparison first: its results are exported.",
                                  "info")
            return
        plugins = w.services.plugins
        exporters = plugins.exporters() if plugins is not None else []
        if not exporters:
            w.banner.show_message("No exporter plugin is on (Plugins ▸ Manage).")
            return
        filters = ";;".join(f"{e.name} (*{e.suffix})" for _, e in exporters)
        path = ask_save_path(w, "Export results", f"results{exporters[0][1].suffix}", filters)
        if not path:
            return
        store = w.services.store
        self._background(lambda: export_results(store, plugins, run, path),
                         lambda count: w.banner.show_message(
                             f"Exported {count} output(s) to {path}.", "info"),
                         "Cannot export the results")

    def _background(self, fn, on_success, failure_prefix: str) -> None:
        run_in_background(fn, self, on_success, lambda message: self.window.banner.show_message(
            f"{failure_prefix}: {message}"))

    # -- Edit ------------------------------------------------------------------------------

    def _edit_menu(self):
        w = self.window
        menu = QMenu("&Edit", w)
        self.save_action = self._action(menu, "&Save version", w.save_button.click,
                                        [QKeySequence.StandardKey.Save])
        menu.addSeparator()
        self.run_action = self._action(menu, "&Run comparison", w.compare.run_button.click,
                                       ["Ctrl+Return", "Ctrl+Enter"])
        self.stop_action = self._action(menu, "S&top", w.compare.stop_button.click, ["Esc"])
        on_compose = lambda: w.tabs.currentWidget() is w.splitter  # noqa: E731
        run_mirror = _EnabledMirror(self.run_action, w.compare.run_button, on_compose)
        w.tabs.currentChanged.connect(lambda _index: run_mirror.update())
        _EnabledMirror(self.stop_action, w.compare.stop_button)
        return menu

    # -- View ------------------------------------------------------------------------------

    def _view_menu(self):
        w = self.window
        menu = QMenu("&View", w)
        self.tab_actions = []
        for index in range(w.tabs.count()):
            title = w.tabs.tabText(index).replace("&&", "&")
            self.tab_actions.append(self._action(
                menu, title.replace("&", "&&"), lambda i=index: w.tabs.setCurrentIndex(i),
                [f"Ctrl+{index + 1}"]))
        menu.addSeparator()
        for dock in (w.sessions_panel.parentWidget(), w.history_panel.parentWidget()):
            menu.addAction(dock.toggleViewAction())
        return menu

    # -- Help ------------------------------------------------------------------------------

    def _help_menu(self):
        w = self.window
        menu = QMenu("&Help", w)
        self.shortcuts_action = self._action(menu, "&Keyboard shortcuts", self.show_shortcuts,
                                             ["F1"])
        self.docs_action = self._action(menu, "&Documentation", self.open_docs)
        self.report_action = self._action(menu, "&System report…", self.show_system_report)
        menu.addSeparator()
        self.about_action = self._action(menu, "&About Prompt Workbench", self.show_about)
        return menu

    def open_docs(self) -> None:
        target = DOCS / "architecture.md" if DOCS.is_dir() else None
        open_url(QUrl.fromLocalFile(str(target)) if target
                 else QUrl("https://github.com/search?q=prompt-workbench"))

    def show_about(self) -> QMessageBox:
        # open(), not exec(): the window stays responsive and a test can read the box.
        box = QMessageBox(QMessageBox.Icon.Information, "About Prompt Workbench",
                          f"Prompt Workbench {app_version()}\n\nPrompt engineering on local GGUF "
                          "models run by llama.cpp.", QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("about-box")
        box.open()
        self.about_box = box
        return box

    def show_system_report(self) -> QDialog:
        """Non-blocking, like About: the report fills in when the checks are done."""
        from .system_report import SystemReportDialog

        # The app's own plugin manager: its plugins as loaded, not a second load of them.
        dialog = SystemReportDialog(self.window, plugins=self.window.services.plugins)
        dialog.open()
        self.system_report = dialog
        return dialog

    def show_shortcuts(self) -> QDialog:
        """Built from the menus themselves, so the list cannot go stale."""
        rows = []
        for menu_action in self.window.menuBar().actions():
            menu = menu_action.menu()
            for action in menu.actions() if menu else []:
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                                 for k in action.shortcuts())
                if keys:
                    rows.append((menu_action.text().replace("&", ""),
                                 action.text().replace("&", ""), keys))
        dialog = QDialog(self.window)
        dialog.setObjectName("shortcuts-dialog")
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.resize(520, 420)
        table = QTableWidget(len(rows), 3, dialog)
        table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setVisible(False)
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                table.setItem(row, column, QTableWidgetItem(text))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.table = table
        dialog.open()
        self.shortcuts_dialog = dialog
        return dialog

