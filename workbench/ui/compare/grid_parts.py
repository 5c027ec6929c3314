"""What the grid's parts use of the ComparePanel they are mixed into, declared in one place.

The comparison grid is one widget (ComparePanel, compare_panel.py) written in parts, one idea a
file: GridChecks (badges, repeats, Re-check), GridJudging (ratings, blind compare, diff),
GridInspect (tokens, branch, likelihood), GridGrounding, GridResume and GridPages. Each part
names ``PanelParts`` as its base: a type checker reads every ``self.x`` a part uses against
this protocol, and tests/ui/test_grid_parts.py fails when a part uses something of the panel
not written here, or when something written here is not on the panel. At run time the base is
``object`` (a Protocol cannot be mixed into a Qt class), so nothing changes for Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QLabel, QPushButton, QTableWidget

    from ...core.cases import CaseSet, TestCase
    from ...core.evaluation import EvalResult
    from ...core.ratings import Preference, Rating
    from ...core.runs import Output, Run, Variant
    from ...services.compare import RunHandle, RunService, VariantSpec
    from ...services.evaluation.eval_service import EvalService
    from ...services.run_history import RunHistoryService
    from ...services.workspace import WorkspaceService
    from ..banner import Banner
    from ..job_bridges import BackgroundCall
    from .blind_dialog import BlindDialog
    from .diff_view import DiffDialog
    from .output_cell import OutputCell
    from .run_bridge import RunBridge
    from .summary_table import SummaryTable

CellKey = tuple[str, str]  # (variant id, case id)


class PanelParts(Protocol):
    # -- services (given to the panel) ------------------------------------------------------
    runs: RunService
    workspace: WorkspaceService
    evaluation: EvalService | None
    history: RunHistoryService  # a session's stored runs and what they hold
    spec_for: Callable[[Variant], VariantSpec] | None  # the window's: a variant's spec
    case_set_for: Callable[[], CaseSet] | None  # the window's cases, saved as shown

    # -- the shown run ----------------------------------------------------------------------
    run: Run | None
    handle: RunHandle | None  # the run in progress
    cases: list[TestCase]
    case_set: CaseSet | None  # the shown run's cases with their assertions
    outputs: dict[CellKey, Output]
    ratings: list[Rating]
    preferences: list[Preference]
    results: dict[str, EvalResult]  # output id -> its verdict
    repeat_outputs: dict[CellKey, dict[int, Output]]
    _repeating: set[CellKey]  # cells generating several repeats
    _run_repeats: int  # how many the running run generates per cell
    _handles: list[RunHandle]
    _listeners: dict  # run id -> its EvaluatingListener, until it is finished

    # -- widgets ----------------------------------------------------------------------------
    grid: QTableWidget
    cells: dict[CellKey, OutputCell]
    banner: Banner
    state: QLabel  # the run's one-line state
    pass_line: QLabel
    recheck_button: QPushButton
    summary: SummaryTable
    bridge: RunBridge  # a run's events, as queued signals
    blind_dialog: BlindDialog | None
    diff_dialog: DiffDialog | None
    _fit_timer: QTimer  # refits the rows a moment after a cell's height changed
    checks_done: Any  # Signal(str): a run's verdicts are final

    # -- the panel's own verbs --------------------------------------------------------------
    @property
    def running(self) -> bool: ...
    def _call(self, purpose: str, fn: Callable[[], Any], on_success) -> BackgroundCall: ...
    def _set_running(self, running: bool) -> None: ...
    def fit_rows(self) -> None: ...
    def figures_later(self) -> None: ...
    def refresh_runs(self) -> None: ...
    def rerun_cell(self, variant_id: str, case_id: str) -> None: ...
    def one_cell(self, variant_id: str, case_id: str): ...
    def track_one_cell(self, handle: RunHandle, key: CellKey) -> None: ...
    def _annotate_later(self, run: Run, cases: list[TestCase]) -> None: ...

    # -- what one part offers the others ----------------------------------------------------
    def _stored_case_set(self, case_set_id: str | None) -> CaseSet | None: ...  # GridChecks
    def _watch(self, case_set: CaseSet | None, cases: list[TestCase]): ...  # GridChecks
    def _verdict_of(self, output: Output): ...  # GridChecks
    def _show_repeats(self, key: CellKey) -> None: ...  # GridChecks
    def _inspect_cell(self, cell: OutputCell) -> None: ...  # GridInspect
    def _divergence_later(self, dialog, a: Output, b: Output) -> None: ...  # GridInspect
    def _on_rated(self, output_id: str, score: int, note: str) -> None: ...  # GridJudging


# The base each part names: the protocol for a type checker, a plain object at run time.
if TYPE_CHECKING:
    PanelBase = PanelParts
else:
    PanelBase = object
