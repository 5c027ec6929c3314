"""The comparison grid: variants are columns, test cases are rows, outputs stream into cells.

When the cases have assertions, each output is checked as it arrives (the evaluation lab's
EvalService) and its cell shows a pass/fail badge; a cell run several times (Repeats) shows
its first output and a line counting the repeats, the distinct answers and the passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.cases import CaseSet, TestCase
from ...core.evaluation import EvalResult
from ...core.ratings import Preference, Rating
from ...core.runs import Output, Run, RunStatus, Variant
from ...core.wording import counted
from ...services.compare import RunHandle, RunService, VariantSpec
from ...services.evaluation.eval_service import EvalService
from ...services.run_history import RunHistoryService, StoredRun
from ...services.workspace import WorkspaceService
from ..banner import Banner
from ..job_bridges import BackgroundCall, JobBridge
from ..shown_values import local_time
from .blind_dialog import BlindDialog
from .diff_view import DiffDialog
from .grid_checks import MAX_REPEATS, GridChecks
from .grid_grounding import GridGrounding
from .grid_inspect import GridInspect
from .grid_judging import GridJudging
from .grid_labels import run_line
from .grid_pages import GridPages
from .grid_resume import GridResume
from .output_cell import OutputCell
from .run_bridge import RunBridge
from .run_history import RunList
from .summary_table import SummaryTable
from .variant_base_notice import VariantBaseNotice
from .variants_table import VariantsTable

SpecFor = Callable[[Variant], VariantSpec]
CaseSetFor = Callable[[], CaseSet]
HEADER_WIDTH = 190  # the case column: wide enough to read, narrow enough to leave the answers room
MIN_ROW = 56


class ComparePanel(GridJudging, GridChecks, GridInspect, GridGrounding, GridResume, GridPages,
                   QWidget):
    run_finished = Signal(object)  # RunStatus
    output_ready = Signal(object)  # Output (for output filters)
    checks_done = Signal(str)  # run id: its verdicts are final (after the run, or a Re-check)

    def __init__(self, runs: RunService, workspace: WorkspaceService,
                 evaluation: EvalService | None = None, parent=None):
        super().__init__(parent)
        self.runs, self.workspace, self.evaluation = runs, workspace, evaluation
        self.case_set: CaseSet | None = None  # the shown run's cases with their assertions
        self.case_set_for: CaseSetFor | None = None  # the window's cases, saved as shown
        self.results: dict[str, EvalResult] = {}  # output id -> its verdict
        self.repeat_outputs: dict[tuple[str, str], dict[int, Output]] = {}  # cell -> repeats
        self._repeating: set[tuple[str, str]] = set()  # cells generating several repeats
        self._run_repeats = 1  # how many the running run generates per cell
        self._listeners: dict = {}  # run id -> its EvaluatingListener, until it is finished
        self.run: Run | None = None
        self.cases: list[TestCase] = []
        self.cells: dict[tuple[str, str], OutputCell] = {}
        self.outputs: dict[tuple[str, str], Output] = {}
        self.ratings: list[Rating] = []
        self.preferences: list[Preference] = []
        self.handle: RunHandle | None = None
        self.spec_for: SpecFor | None = None
        self._handles: list[RunHandle] = []
        self.history = RunHistoryService(runs.store, runs.plugins)
        self.blind_dialog: BlindDialog | None = None
        self.diff_dialog: DiffDialog | None = None
        self._calls: dict[str, BackgroundCall] = {}  # the latest background call per purpose
        # Row heights follow the text; streaming tokens refit at most every 150 ms.
        self._fit_timer = QTimer(self, singleShot=True, interval=150)
        self._fit_timer.timeout.connect(self.fit_rows)
        # The summary and the pass line count every output: while thousands stream in, they
        # are recounted at most four times a second, not once per output.
        self._figures_timer = QTimer(self, singleShot=True, interval=250)
        self._figures_timer.timeout.connect(self.refresh_figures)
        self.bridge = RunBridge(self)
        self.bridge.started.connect(self._on_started)
        self.bridge.token.connect(self._on_token)
        self.bridge.finished.connect(self._on_finished)
        self.bridge.run_done.connect(self._on_run_done)
        self.bridge.annotated.connect(self._on_annotated)
        self.bridge.evaluated.connect(self._on_evaluated)
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.variants = VariantsTable()
        self.variants.setMaximumHeight(150)  # three variants (base, ×1, ×0.5) without scrolling
        self.variants.setMinimumHeight(60)
        self.base_notice = VariantBaseNotice(self.variants, self.runs.models)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("▶ Run")
        self.repeats_spin = QSpinBox(minimum=1, maximum=MAX_REPEATS, prefix="× ")
        self.repeats_spin.setToolTip("Repeats: generate each cell this many times (seed, "
                                     "seed + 1, …) to see how stable the answers are")
        self.recheck_button = QPushButton("Re-check")
        self.recheck_button.setToolTip("Check the shown run's outputs again against the "
                                       "assertions as they are now")
        self.recheck_button.setEnabled(False)
        self.stop_button = QPushButton("■ Stop")
        self.diff_button = QPushButton("Diff two cells")
        self.blind_button = QPushButton("Blind compare…")
        self.state = QLabel("")
        buttons.addWidget(self.run_button)
        buttons.addWidget(QLabel("Repeats"))
        for button in (self.repeats_spin, self.recheck_button, self.stop_button,
                       self._build_resume_button(), self.diff_button, self.blind_button):
            buttons.addWidget(button)
        buttons.addWidget(self.state, 1)
        buttons.addWidget(self._build_page_bar())
        self.run_list = RunList()  # beside the buttons: every pixel of height goes to results
        self.run_list.setEnabled(False)
        buttons.addWidget(self.run_list, 1)
        self.grid = QTableWidget(0, 0)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header = self.grid.verticalHeader()
        header.setDefaultSectionSize(MIN_ROW)
        header.setFixedWidth(HEADER_WIDTH)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.grid.setMinimumHeight(90)
        self.summary = SummaryTable()
        self.summary.setMinimumHeight(50)
        # Variants, grid and summary share one splitter: the grid takes the height, the user
        # can shrink the variants table to see more results. (A new name: states saved for
        # the old two-pane splitter do not fit.)
        self.results_splitter = QSplitter(Qt.Orientation.Vertical)
        self.results_splitter.setObjectName("compare-splitter")
        self.results_splitter.setChildrenCollapsible(False)
        layout.addLayout(buttons)
        self.pass_line = QLabel()  # "Greedy 7/10 pass · Creative 5/10 pass"
        self.pass_line.setStyleSheet("font-weight:bold; padding:2px 4px")
        self.pass_line.hide()
        layout.addWidget(self.pass_line)
        for index, widget in enumerate((self.variants, self.grid, self.summary)):
            self.results_splitter.addWidget(widget)
            self.results_splitter.setStretchFactor(index, 1 if widget is self.grid else 0)
        self.results_splitter.setSizes([150, 1000, 72])  # three variant rows, two summary rows
        layout.addWidget(self.results_splitter, 1)
        self.stop_button.clicked.connect(self.stop)
        self.recheck_button.clicked.connect(lambda: self.recheck())
        # Lambdas: clicked(bool) must not land in a parameter (it once suppressed the dialogs).
        self.diff_button.clicked.connect(lambda: self.diff_selected())
        self.blind_button.clicked.connect(lambda: self.open_blind())
        self.run_list.run_chosen.connect(self.open_stored)
        self.grid.horizontalHeader().sectionResized.connect(lambda *_: self._fit_timer.start())
        self.stop_button.setEnabled(False)

    # -- grid ----------------------------------------------------------------------------

    def _lay_out(self, run: Run, cases: list[TestCase]) -> None:
        """The run's cases, from the first page (the same page when it is the run shown)."""
        if self.run is None or self.run.id != run.id:
            self.page = 0
        self.run, self.cases = run, list(cases)
        self.page = min(self.page, self.page_count() - 1)
        self._lay_out_page()

    def fit_rows(self) -> None:
        """Each row as tall as its tallest cell wants (text up to a cap) and its case label."""
        header = self.grid.verticalHeader()
        line = header.fontMetrics().lineSpacing()
        for row in range(self.grid.rowCount()):
            label = self.grid.verticalHeaderItem(row)
            wanted = (label.text().count("\n") + 1) * line + 10 if label else MIN_ROW
            for column in range(self.grid.columnCount()):
                cell = self.grid.cellWidget(row, column)
                if isinstance(cell, OutputCell):
                    wanted = max(wanted, cell.wanted_height(self.grid.columnWidth(column)))
            if header.sectionSize(row) != max(MIN_ROW, wanted):
                header.resizeSection(row, max(MIN_ROW, wanted))

    def show_run(self, run: Run | None, cases: list[TestCase], outputs: list[Output],
                 ratings: list[Rating], preferences: list[Preference], *,
                 flags: dict[str, list[str]] | None = None,
                 scores: dict[str, dict[str, float]] | None = None) -> None:
        """A stored run as it was left (latest output per cell). Without ``flags``/``scores``
        the plugins' figures are computed in the background and filled in when ready."""
        self.outputs.clear()
        self._forget_checks()
        self.case_set = None  # read again when a re-check or a rerun needs it
        self.ratings, self.preferences = list(ratings), list(preferences)
        if run is None:
            self.run = None
            self.recheck_button.setEnabled(False)
            self.grid.clear()
            self.grid.setRowCount(0)
            self.grid.setColumnCount(0)
            self.summary.setRowCount(0)
            self.state.setText("")
            self.run_list.set_runs([], None)
            return
        case_ids = {o.case_id for o in outputs}
        # An unfinished run shows every case: its missing cells are what Resume fills.
        finished = run.status in (RunStatus.DONE, RunStatus.FAILED)
        shown = [c for c in cases if c.id in case_ids] or cases if finished else cases
        self._lay_out(run, shown)
        for output in sorted(outputs, key=lambda o: o.created_at):
            key = (output.variant_id, output.case_id)
            self.repeat_outputs.setdefault(key, {})[output.repeat] = output
            if not output.repeat:  # a cell shows its first repeat; the others under it
                self.outputs[key] = output
        self._fill_cells()
        self._verdicts_later(run)
        self._ground_later(list(self.outputs.values()))
        if flags is None or scores is None:
            self._annotate_later(run, self.page_cases())
        else:
            self._show_annotations(flags, scores)
        self.state.setText(f"{run_line(run.status, self.all_keys(), self.outputs)} "
                           f"(started {local_time(run.created_at):%Y-%m-%d %H:%M})")
        self.refresh_summary()
        self.fit_rows()
        self.refresh_runs()
        self._set_running(self.running)

    # -- earlier runs --------------------------------------------------------------------

    def _call(self, purpose: str, fn, on_success) -> BackgroundCall:
        """Store reads and plugin scorers off the GUI thread; only the latest call of each
        purpose is listened to (an older answer must not overwrite a newer choice)."""
        old = self._calls.get(purpose)
        if old is not None:
            old.succeeded.disconnect()
            old.deleteLater()  # a thread still running finds it gone and drops its answer
        call = BackgroundCall(fn, self)
        call.succeeded.connect(on_success)
        call.failed.connect(lambda message: self.banner.show_message(message))
        self._calls[purpose] = call
        call.start()
        return call

    def refresh_runs(self) -> None:
        """Refill the run list for the shown run's session."""
        if self.run is None:
            return
        session_id, history = self.run.session_id, self.history

        def listed():
            runs = history.runs(session_id)
            return runs, history.status_texts(runs)

        self._call("runs", listed, self._on_runs_listed)

    def _on_runs_listed(self, listed: tuple) -> None:
        runs, statuses = listed
        self.run_list.set_runs(runs, self.run.id if self.run else None, statuses)
        current = next((run for run in runs if self.run and run.id == self.run.id), None)
        if current is not None and not self.running and current.status != self.run.status:
            self.run = current  # found interrupted since it was shown
            self.state.setText(f"{run_line(current.status, self.all_keys(), self.outputs)} "
                               f"(started {local_time(current.created_at):%Y-%m-%d %H:%M})")
        self._show_resume()
        self.run_list.setEnabled(bool(runs) and not self.running)

    def open_stored(self, run_id: str) -> None:
        """Show an earlier run (chosen in the run list) with its ratings and scores."""
        if self.running:
            return
        history = self.history
        self.state.setText("Opening the run…")
        self._call("open", lambda: history.open(run_id), self._on_stored)

    def _on_stored(self, stored: StoredRun) -> None:
        self.show_run(stored.run, stored.cases, stored.outputs, stored.ratings,
                      stored.preferences, flags=stored.flags, scores=stored.scores)

    def _annotate_later(self, run: Run, cases: list[TestCase]) -> None:
        outputs, history = list(self.outputs.values()), self.history

        def shown(result) -> None:
            if self.run is not None and self.run.id == run.id:
                self._show_annotations(*result)

        self._call("annotate", lambda: history.annotate(outputs, cases), shown)

    def _show_annotations(self, flags: dict, scores: dict) -> None:
        for key, output in self.outputs.items():
            cell = self.cells.get(key)
            if cell is not None and cell.output is output:
                cell.show_flags(flags.get(output.id, []))
                cell.show_scores(scores.get(output.id, {}))
        self.fit_rows()

    # -- running -------------------------------------------------------------------------

    def start(self, session_id: str, case_set_id: str, cases: list[TestCase],
              specs: list[VariantSpec], *, repeats: int | None = None) -> RunHandle:
        """Run every variant over ``cases`` (``repeats`` times each; default: the Repeats
        box). Outputs are checked as they arrive when the cases have assertions."""
        repeats = self.repeats_spin.value() if repeats is None else max(1, repeats)
        self.banner.hide()
        case_set = self._stored_case_set(case_set_id)
        self._check_values(case_set, cases)  # raises before anything runs
        listener = self._watch(case_set, cases)
        handle = self.runs.start(session_id, case_set_id, cases, specs, listener or self.bridge,
                                 repeats=repeats)
        if listener is not None:
            self.evaluation.started(listener, handle, specs, repeats=repeats)
            self._listeners[handle.run.id] = listener
        self.outputs.clear()
        self._forget_checks()
        self.case_set = case_set
        self.ratings, self.preferences = [], []
        self.handle = handle
        self._handles.append(handle)
        self.bridge.follow(handle)
        self._lay_out(handle.run, cases)
        self._run_repeats = repeats
        for key, cell in self.cells.items():
            cell.stats.setText("queued")
            if repeats > 1:
                self._repeating.add(key)
        title = f"Running {counted(len(specs), 'variant')} × {counted(len(cases), 'case')}"
        self.state.setText(f"{title}…")
        # The run is a job: its progress in cells reaches the state line through the bridge.
        progress = JobBridge(self).bind(handle)
        progress.progress.connect(lambda p: self.state.setText(
            f"{title}: {int(p.done)} of {counted(int(p.total), 'cell')} done…")
            if self.handle is handle and not handle.done.is_set() else None)
        progress.finished.connect(progress.deleteLater)
        self._set_running(True)
        self.refresh_summary()
        self.refresh_runs()
        return handle

    def figures_later(self) -> None:
        if not self._figures_timer.isActive():
            self._figures_timer.start()

    def refresh_figures(self) -> None:
        self._figures_timer.stop()
        self.refresh_summary()
        self.refresh_pass_line()

    def stop(self) -> None:
        for handle in self._handles:
            handle.cancel()

    def rerun_cell(self, variant_id: str, case_id: str) -> None:
        if self.run is None or self.spec_for is None:
            return
        variant, case, spec, listener = self.one_cell(variant_id, case_id)
        self.track_one_cell(self.runs.rerun_cell(self.run, variant, spec, case, listener),
                            (variant_id, case_id))

    def one_cell(self, variant_id: str, case_id: str):
        """What generating one cell again needs: its variant, case, spec, and the listener
        (checked like the run's outputs when the cases have checks; no new evaluation run)."""
        variant = next(v for v in self.run.variants if v.id == variant_id)
        case = next(c for c in self.cases if c.id == case_id)
        spec = self.spec_for(variant)
        listener = self._watch(self._case_set_of_run(), [case])
        if listener is not None:
            listener.versions = {variant.id: spec.prompt_version}
            listener.ready.set()
        return variant, case, spec, listener or self.bridge

    def track_one_cell(self, handle: RunHandle, key: tuple[str, str]) -> None:
        self._repeating.discard(key)  # one output: it streams
        self._handles.append(handle)
        self.bridge.follow(handle)
        self._set_running(True)

    def _on_started(self, variant_id: str, case_id: str) -> None:
        key = (variant_id, case_id)
        cell = self.cells.get(key)
        if cell is None:
            return
        if key in self._repeating:
            # Repeats of a cell run side by side and their events do not say which repeat
            # they are: the cell waits for finished outputs instead of mixing their tokens.
            if cell.output is None:
                cell.stats.setText(f"generating {self._run_repeats} repeats…")
            return
        cell.start()

    def _on_token(self, variant_id: str, case_id: str, text: str) -> None:
        cell = self.cells.get((variant_id, case_id))
        if cell and (variant_id, case_id) not in self._repeating:
            cell.append(text)
            if not self._fit_timer.isActive():
                self._fit_timer.start()

    def _on_finished(self, output: Output) -> None:
        key = (output.variant_id, output.case_id)
        if self.run is None or output.run_id != self.run.id:
            return  # a cell of a run no longer shown
        self.repeat_outputs.setdefault(key, {})[output.repeat] = output
        cell = self.cells.get(key)
        if output.repeat == 0:
            self.outputs[key] = output
            if cell:
                cell.show_output(output)
                cell.show_verdict(self._verdict_of(output))
            self.output_ready.emit(output)
            self._ground_later([output])
        self._show_repeats(key)
        self.figures_later()
        self._fit_timer.start()

    def _on_annotated(self, variant_id: str, case_id: str, flags: list, scores: dict) -> None:
        """Output filters' flags and scorers' figures from plugins, shown in the cell."""
        cell = self.cells.get((variant_id, case_id))
        if cell is None:
            return
        cell.show_flags(flags)
        cell.show_scores(scores)
        self._fit_timer.start()

    def _on_run_done(self, handle: RunHandle) -> None:
        run_id, status = handle.run.id, handle.outcome
        self._handles = [h for h in self._handles if not h.done.is_set()]
        if not self._handles:
            self._set_running(False)
        if self.run is not None and run_id == self.run.id:
            self.run = replace(self.run, status=status)
            self._show_resume()  # offered for a stopped run
            if status is RunStatus.CANCELLED:
                for cell in self.cells.values():
                    cell.show_cancelled()  # queued cells the stop reached before any output
            self.state.setText(run_line(status, self.all_keys(), self.outputs))
            self.refresh_figures()
            self.fit_rows()
            self.refresh_runs()  # its status changed
        listener = self._listeners.pop(run_id, None)
        if listener is not None:
            self.recheck_button.setEnabled(False)  # until the run's own checks are final
            self._finish_checks(listener, run_id)
        self.run_finished.emit(status)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.repeats_spin.setEnabled(not running)
        self.recheck_button.setEnabled(not running and self.run is not None
                                       and self.evaluation is not None)
        self.stop_button.setEnabled(running)
        self.run_list.setEnabled(not running and bool(self.run_list.runs))
        self._show_resume()

    @property
    def running(self) -> bool:
        return any(not h.done.is_set() for h in self._handles)
