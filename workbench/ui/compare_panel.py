"""The comparison grid: variants are columns, test cases are rows, outputs stream into cells."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.cases import TestCase
from ..core.ratings import Preference, Rating
from ..core.runs import Output, Run, RunStatus, Variant
from ..core.summary import summarize
from ..services.compare import RunHandle, RunService, VariantSpec
from ..services.workspace import WorkspaceService
from .banner import Banner
from .blind_dialog import BlindDialog
from .diff_view import DiffDialog
from .output_cell import OutputCell
from .summary_table import SummaryTable
from .variants_table import VariantsTable

SpecFor = Callable[[Variant], VariantSpec]


class RunBridge(QObject):
    """RunListener for worker threads: each call becomes a signal queued to the GUI thread."""

    started = Signal(str, str)
    token = Signal(str, str, str)
    finished = Signal(object)
    run_done = Signal(str, object)
    annotated = Signal(str, str, object, object)  # variant id, case id, flags, scores

    def cell_started(self, variant_id, case_id):
        self.started.emit(variant_id, case_id)

    def cell_token(self, variant_id, case_id, text):
        self.token.emit(variant_id, case_id, text)

    def cell_finished(self, output):
        self.finished.emit(output)

    def run_finished(self, run_id, status):
        self.run_done.emit(run_id, status)

    def cell_annotated(self, output_id, variant_id, case_id, flags, scores):
        self.annotated.emit(variant_id, case_id, list(flags), dict(scores))


def case_label(case: TestCase, number: int) -> str:
    values = ", ".join(f"{k}={v}" for k, v in case.variables.items())
    return f"{number}. {values[:60]}" if values else f"Case {number}"


class ComparePanel(QWidget):
    run_finished = Signal(object)  # RunStatus
    output_ready = Signal(object)  # Output (for output filters)

    def __init__(self, runs: RunService, workspace: WorkspaceService, parent=None):
        super().__init__(parent)
        self.runs, self.workspace = runs, workspace
        self.run: Run | None = None
        self.cases: list[TestCase] = []
        self.cells: dict[tuple[str, str], OutputCell] = {}
        self.outputs: dict[tuple[str, str], Output] = {}
        self.ratings: list[Rating] = []
        self.preferences: list[Preference] = []
        self.handle: RunHandle | None = None
        self.spec_for: SpecFor | None = None
        self._handles: list[RunHandle] = []
        self.bridge = RunBridge(self)
        self.bridge.started.connect(self._on_started)
        self.bridge.token.connect(self._on_token)
        self.bridge.finished.connect(self._on_finished)
        self.bridge.run_done.connect(self._on_run_done)
        self.bridge.annotated.connect(self._on_annotated)
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.variants = VariantsTable()
        self.variants.setMaximumHeight(150)  # three variants (base, ×1, ×0.5) without scrolling
        layout.addWidget(self.variants)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("▶ Run")
        self.stop_button = QPushButton("■ Stop")
        self.diff_button = QPushButton("Diff two cells")
        self.blind_button = QPushButton("Blind compare…")
        self.state = QLabel("")
        for button in (self.run_button, self.stop_button, self.diff_button, self.blind_button):
            buttons.addWidget(button)
        buttons.addWidget(self.state, 1)
        layout.addLayout(buttons)
        self.grid = QTableWidget(0, 0)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.verticalHeader().setDefaultSectionSize(140)
        self.grid.verticalHeader().setMaximumWidth(200)
        self.grid.setMinimumHeight(160)
        self.summary = SummaryTable()
        self.results_splitter = QSplitter(Qt.Orientation.Vertical)
        self.results_splitter.setObjectName("results-splitter")
        self.results_splitter.addWidget(self.grid)
        self.results_splitter.addWidget(self.summary)
        self.results_splitter.setStretchFactor(0, 5)
        self.results_splitter.setStretchFactor(1, 1)
        layout.addWidget(self.results_splitter, 1)
        self.stop_button.clicked.connect(self.stop)
        self.diff_button.clicked.connect(self.diff_selected)
        self.blind_button.clicked.connect(self.open_blind)
        self.stop_button.setEnabled(False)

    # -- grid ----------------------------------------------------------------------------

    def _lay_out(self, run: Run, cases: list[TestCase]) -> None:
        """One cell per variant × case. A grid of the same shape keeps its cells (cleared):
        building and deleting a dozen cells stalled the window for 13–35 ms at each Run."""
        self.run, self.cases = run, list(cases)
        self.cells.clear()
        rows, columns = len(cases), len(run.variants)
        reuse = (self.grid.rowCount() == rows and self.grid.columnCount() == columns
                 and all(isinstance(self.grid.cellWidget(r, c), OutputCell)
                         for r in range(rows) for c in range(columns)))
        if not reuse:
            self.grid.clear()
            self.grid.setColumnCount(columns)
            self.grid.setRowCount(rows)
        self.grid.setHorizontalHeaderLabels([v.label or f"Variant {i + 1}"
                                             for i, v in enumerate(run.variants)])
        self.grid.setVerticalHeaderLabels([case_label(c, i + 1) for i, c in enumerate(cases)])
        for row, case in enumerate(cases):
            for column, variant in enumerate(run.variants):
                cell = self.grid.cellWidget(row, column) if reuse else self._new_cell(row, column)
                if reuse:
                    cell.clear()
                cell.key = (variant.id, case.id)
                self.cells[cell.key] = cell

    def _new_cell(self, row: int, column: int) -> OutputCell:
        cell = OutputCell()
        cell.rated.connect(self._on_rated)
        cell.rerun_requested.connect(lambda c=cell: self.rerun_cell(*c.key))
        self.grid.setItem(row, column, QTableWidgetItem())  # selectable for Diff
        self.grid.setCellWidget(row, column, cell)
        return cell

    def show_run(self, run: Run | None, cases: list[TestCase], outputs: list[Output],
                 ratings: list[Rating], preferences: list[Preference]) -> None:
        """A stored run as it was left (latest output per cell)."""
        self.outputs.clear()
        self.ratings, self.preferences = list(ratings), list(preferences)
        if run is None:
            self.run = None
            self.grid.clear()
            self.grid.setRowCount(0)
            self.grid.setColumnCount(0)
            self.summary.setRowCount(0)
            self.state.setText("")
            return
        case_ids = {o.case_id for o in outputs}
        shown = [c for c in cases if c.id in case_ids] or cases
        self._lay_out(run, shown)
        latest_score = {r.output_id: r.score for r in sorted(ratings, key=lambda r: r.created_at)}
        for output in sorted(outputs, key=lambda o: o.created_at):
            key = (output.variant_id, output.case_id)
            self.outputs[key] = output
            if key in self.cells:
                self.cells[key].show_output(output, latest_score.get(output.id))
        self.state.setText(f"Run of {run.created_at:%Y-%m-%d %H:%M}: {run.status.value}")
        self.refresh_summary()

    # -- running -------------------------------------------------------------------------

    def start(self, session_id: str, case_set_id: str, cases: list[TestCase],
              specs: list[VariantSpec]) -> RunHandle:
        self.banner.hide()
        self.outputs.clear()
        self.ratings, self.preferences = [], []
        handle = self.runs.start(session_id, case_set_id, cases, specs, self.bridge)
        self.handle = handle
        self._handles.append(handle)
        self._lay_out(handle.run, cases)
        for cell in self.cells.values():
            cell.stats.setText("queued")
        self.state.setText(f"Running {len(specs)} variants × {len(cases)} cases…")
        self._set_running(True)
        return handle

    def stop(self) -> None:
        for handle in self._handles:
            handle.cancel()

    def rerun_cell(self, variant_id: str, case_id: str) -> None:
        if self.run is None or self.spec_for is None:
            return
        variant = next(v for v in self.run.variants if v.id == variant_id)
        case = next(c for c in self.cases if c.id == case_id)
        handle = self.runs.rerun_cell(self.run, variant, self.spec_for(variant), case, self.bridge)
        self._handles.append(handle)
        self._set_running(True)

    def _on_started(self, variant_id: str, case_id: str) -> None:
        cell = self.cells.get((variant_id, case_id))
        if cell:
            cell.start()

    def _on_token(self, variant_id: str, case_id: str, text: str) -> None:
        cell = self.cells.get((variant_id, case_id))
        if cell:
            cell.append(text)

    def _on_finished(self, output: Output) -> None:
        key = (output.variant_id, output.case_id)
        self.outputs[key] = output
        cell = self.cells.get(key)
        if cell:
            cell.show_output(output)
        self.output_ready.emit(output)
        self.refresh_summary()

    def _on_annotated(self, variant_id: str, case_id: str, flags: list, scores: dict) -> None:
        """Output filters' flags and scorers' figures from plugins, shown in the cell."""
        cell = self.cells.get((variant_id, case_id))
        if cell is None:
            return
        cell.show_flags(flags)
        if scores:
            figures = " · ".join(f"{name} {value:.2f}" for name, value in scores.items())
            cell.stats.setText(f"{cell.stats.text()} · {figures}")
            cell.stats.setToolTip(f"{cell.stats.toolTip()}\nScores: {figures}".strip())

    def _on_run_done(self, run_id: str, status: RunStatus) -> None:
        self._handles = [h for h in self._handles if not h.done.is_set()]
        if not self._handles:
            self._set_running(False)
        if self.run is not None and run_id == self.run.id:
            errors = sum(1 for o in self.outputs.values() if o.error)
            self.state.setText(f"Run {status.value}" + (f" — {errors} cells failed" if errors
                                                           else ""))
        self.run_finished.emit(status)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    @property
    def running(self) -> bool:
        return any(not h.done.is_set() for h in self._handles)

    # -- judging -------------------------------------------------------------------------

    def _on_rated(self, output_id: str, score: int, note: str) -> None:
        self.ratings.append(self.workspace.rate(output_id, score, note))
        self.refresh_summary()

    def record_preference(self, a: str, b: str, winner: str) -> None:
        self.preferences.append(self.workspace.prefer(a, b, winner, blind=True))
        self.refresh_summary()

    def blind_pairs(self):
        pairs = []
        for number, case in enumerate(self.cases, 1):
            answers = [self.outputs[(v.id, case.id)] for v in self.run.variants
                       if (v.id, case.id) in self.outputs and not self.outputs[(v.id, case.id)].error]
            for a, b in itertools.combinations(answers, 2):
                pairs.append((case_label(case, number), a, b))
        return pairs

    def open_blind(self, exec_dialog: bool = True) -> BlindDialog | None:
        if self.run is None:
            return None
        pairs = self.blind_pairs()
        if not pairs:
            self.banner.show_message("Blind comparison needs two finished answers to one case.",
                                     "info")
            return None
        dialog = BlindDialog(pairs, self.record_preference, self)
        if exec_dialog:
            dialog.exec()
        return dialog

    def selected_outputs(self) -> list[Output]:
        found = []
        for index in self.grid.selectedIndexes():
            variant = self.run.variants[index.column()]
            output = self.outputs.get((variant.id, self.cases[index.row()].id))
            if output is not None:
                found.append((index.row(), index.column(), output))
        return [o for *_, o in sorted(found, key=lambda t: (t[0], t[1]))]

    def diff_selected(self, exec_dialog: bool = True) -> DiffDialog | None:
        chosen = self.selected_outputs()
        if len(chosen) != 2:
            self.banner.show_message("Select exactly two finished cells to compare them.", "info")
            return None
        labels = {v.id: v.label for v in self.run.variants}
        old, new = chosen
        dialog = DiffDialog("Output diff", labels.get(old.variant_id, "A"), old.text,
                            labels.get(new.variant_id, "B"), new.text, self)
        if exec_dialog:
            dialog.exec()
        return dialog

    def refresh_summary(self) -> None:
        if self.run is None:
            return
        labels = {v.id: v.label or v.id[:8] for v in self.run.variants}
        self.summary.show_summaries(labels, summarize(
            [v.id for v in self.run.variants], list(self.outputs.values()), self.ratings,
            self.preferences))
