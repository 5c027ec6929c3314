"""File ▸ Import suite… / Export suite…: promptfoo-style YAML suites in and out of sessions.

Import reads the file and runs the evaluation lab's preflight on it (every problem at once —
the file's, its models', judges' and templates' — one line each, shown in a message box), and
only then stores it and switches the window to its session: a new one, or — for a file
imported (or run by ``workbench eval``) before — the session of its earlier runs, as
``workbench eval`` joins it, so its runs and trend are there; Export writes the open
session — its prompt versions, its variants' models and sampling, its cases with their
assertions — as a suite.
File dialogs go through module-level functions so a test can answer them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu, QMessageBox

from ...core.session_variants import CURRENT_VERSION
from ...core.wording import counted
from ...services.evaluation.preflight import check_file, preflight_for
from ...services.evaluation.suite_file import save_suite
from ...services.evaluation.suite_rerun import earlier_suite, store_or_join
from ...services.evaluation.suite_session import (
    source_path_of,
    suite_from_session,
    suite_title,
)
from ..file_dialogs import ask_open_path, ask_save_path
from ..job_bridges import run_in_background

SUITE_FILTER = "Evaluation suite (*.yaml *.yml)"


class SuiteActions(QObject):
    """The two menu entries, added to ``menu`` (the window's File menu)."""

    def __init__(self, window, menu: QMenu):
        super().__init__(window)
        self.window = window
        self.message_box: QMessageBox | None = None  # the last problem shown (tests read it)
        self.import_action = menu.addAction("Import &suite…")
        self.import_action.triggered.connect(lambda _checked=False: self.import_suite())
        self.export_action = menu.addAction("Export s&uite…")
        self.export_action.triggered.connect(lambda _checked=False: self.export_suite())

    # -- import ----------------------------------------------------------------------------

    def import_suite(self, path: str | None = None) -> None:
        path = path or ask_open_path(self.window, "Import an evaluation suite", SUITE_FILTER)
        if not path:
            return
        store, evaluation = self.window.services.store, self.window.services.evaluation

        def work():
            # The file's own problems refuse it; a model, server or document set that is not
            # there yet is said after the import (a colleague's suite names their models).
            preflight = preflight_for(evaluation)
            suite = check_file(path, preflight, need_models=False)
            text = Path(path).read_text(encoding="utf-8-sig")
            again = earlier_suite(store, suite_title(suite), source_path_of(suite)) is not None
            # the file's earlier session when it has one (its runs, its trend), as
            # `workbench eval` does: never a second session of the same name
            held = store_or_join(store, suite, yaml_text=text)
            return held, again, preflight.model_notices(suite)

        self._background(work, self._imported, f"Cannot import {Path(path).name}")

    def _imported(self, imported) -> None:
        held, again, missing = imported
        w = self.window
        w.sessions_panel.refresh(held.session.id)
        w.open_session(held.session.id)
        where = " again, into its existing session" if again else ""
        text = (f"Imported the suite '{held.stored.name}'{where}: "
                f"{counted(len(held.case_set.cases), 'case')}, "
                f"{counted(len(held.versions), 'prompt')}.")
        if missing:
            text += " Before it can run: " + "; ".join(str(p) for p in missing)
        w.banner.show_message(text, "error" if missing else "info")

    # -- export ----------------------------------------------------------------------------

    def export_suite(self, path: str | None = None) -> None:
        w = self.window
        if w.workspace is None:
            w.banner.show_message("Open a session first: there is nothing to export.")
            return
        if w.save_version() is None:  # the editor's prompt is what "current" variants run
            return
        w.variants_keeper.save_now()
        case_set = w.save_cases()
        session = w.workspace.session
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in session.name).strip()
        path = path or ask_save_path(w, "Export the session as a suite",
                                     f"{safe or 'suite'}.yaml", SUITE_FILTER)
        if not path:
            return
        store, workspace = w.services.store, w.services.workspace
        history, default_model = list(w.workspace.history), w.picker.chosen()

        def work() -> None:
            variants = [replace(v, model=v.model or default_model)
                        for v in workspace.variants(session.id)]
            suite = suite_from_session(store, session.id, case_set,
                                       versions_of(variants, history, workspace.version),
                                       variants)
            save_suite(suite, path)

        self._background(work, lambda _none: w.banner.show_message(
            f"Exported '{session.name}' as a suite to {path}.", "info"),
            f"Cannot export '{session.name}'")

    # -- both ------------------------------------------------------------------------------

    def _background(self, fn, on_success, failure_prefix: str) -> None:
        run_in_background(fn, self, on_success,
                          lambda message: self._show_problem(failure_prefix, message))

    def _show_problem(self, title: str, message: str) -> None:
        """A suite's problems, one line each, in a box the user reads at leisure (open(),
        not exec(): the window stays responsive)."""
        if self.message_box is not None:
            self.message_box.close()
            self.message_box.deleteLater()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                          QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("suite-problem-box")
        box.open()
        self.message_box = box


def versions_of(variants, history, version_of) -> list:
    """The prompt versions the variants run, labelled v1, v2… by their place in history
    ("current": the newest), each once, in the variants' order; ``version_of(id)`` reads a
    stored one."""
    numbers = {version.id: number for number, version in enumerate(history, 1)}
    latest = history[-1] if history else None
    chosen: dict[str, tuple[str, object]] = {}
    for variant in variants:
        version = latest if variant.version == CURRENT_VERSION else \
            version_of(variant.version)
        if version is not None and version.id not in chosen:
            chosen[version.id] = (f"v{numbers.get(version.id, len(numbers) + 1)}", version)
    return list(chosen.values())
