"""The Evaluation tab: what a run's evaluation says — pass rates with intervals (table and plot),
the paired comparisons in words, pass rates per assertion, the ranking from pairwise judgements,
the judge's agreement with the user's ratings, and the trend over the test set's runs.

``EvalResultsView`` only shows an ``EvalReport``; ``EvaluationLoader`` keeps it on the run the
grid shows, computing the report off the GUI thread (the bootstraps take a moment) and only
while the tab is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.evaluation import EvalRun
from ...core.runs import Run
from ...services.evaluation.eval_service import report_for_run
from ...services.evaluation.report import EvalReport
from ...services.evaluation.trend import trend_history
from ...services.sessions import Store
from ..job_bridges import BackgroundCall
from ..shown_values import DASH, cell_item, local_time
from .eval_widgets import (
    Sentences,
    fit_rows,
    note_label,
    percent,
    read_only_table,
    span,
    stacked_column,
    titled_box,
)

PASS_COLUMNS = ["Variant", "Passed", "Pass rate", "95% interval", "Mean score", "Errors"]
NO_RUN = ("No run to evaluate yet. Add assertions to the test cases, run a comparison on the "
          "Compose & compare tab, and its pass rates appear here.")
NOT_EVALUATED = ("This run has no evaluated outputs. Add assertions to the test cases "
                 "(Assertions… in the cases table) or import a suite, then run the comparison "
                 "again or Re-check it.")
RETRIEVAL_COLUMNS = ["Variant", "k", "Cases", "Recall@k", "MRR"]
LOADING = "Computing the evaluation report…"
NO_RANKING = "No pairwise judgements yet — use Blind compare or a select-best assertion."
ONE_VARIANT = "Only one variant: add a second one to compare them."
NO_TREND = ("The trend needs two evaluated runs of these test cases; run the comparison again "
            "(after changing the prompt or a variant) to see whether pass rates move.")
NO_ASSERTIONS = "No assertion was checked (every output failed to generate)."


def _plots():
    """The charts' module, imported with the first report: pyqtgraph costs the window's start
    ~0.3 s that most sessions never need (tests/ui/test_window_cold_start.py)."""
    from . import eval_plots

    return eval_plots


class EvalResultsView(QWidget):
    """Shows one ``EvalReport`` and the trend of its test set's runs; ``clear`` shows a
    sentence instead (what to do to get a report)."""

    shown = Signal()  # the tab became visible: the loader brings it up to date

    def __init__(self, parent=None):
        super().__init__(parent)
        self.report: EvalReport | None = None
        self.numbered = False  # variants named by number under the charts (labels too alike)
        self.message = note_label(NO_RUN)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(40)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.message)
        self.report_page: QWidget | None = None  # built with the first report (pyqtgraph)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

    def _build_report_page(self) -> QWidget:
        """The report's parts, then where each sits on the page."""
        self.heading = note_label()
        self.heading.setStyleSheet("font-weight: bold;")
        self._build_tables()
        self._build_ranking()
        self._build_trend()
        return self._lay_out_report()

    def _build_tables(self) -> None:
        self.pass_table = read_only_table(PASS_COLUMNS)
        self.pass_table.horizontalHeaderItem(5).setToolTip(
            "Outputs that failed to generate; they count as fails.")
        header = self.pass_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.pass_plot = _plots().IntervalPlot("pass rate", percent=True)

        self.comparisons = Sentences()

        self.assertion_table = read_only_table([])
        self.assertion_note = note_label()
        self.retrieval_table = read_only_table(RETRIEVAL_COLUMNS)
        self.retrieval_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.retrieval_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch)
        self.agreement = note_label()
        self.agreement.hide()

    def _build_ranking(self) -> None:
        self.ranking_plot = _plots().IntervalPlot("strength (0 = average)", baseline=0.0)
        self.ranking_note = note_label()
        self.ranking_empty = note_label(NO_RANKING)
        self.ranking_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.ranking_pages = QStackedWidget()
        self.ranking_pages.addWidget(self.ranking_empty)
        self.ranking_pages.addWidget(self.ranking_plot)

    def _build_trend(self) -> None:
        self.trend_plot = _plots().TrendPlot()
        self.trend_legend = QLabel()
        self.trend_legend.setTextFormat(Qt.TextFormat.RichText)
        self.trend_legend.setWordWrap(True)
        trend_page = QWidget()
        trend_column = QVBoxLayout(trend_page)
        trend_column.setContentsMargins(0, 0, 0, 0)
        trend_column.addWidget(self.trend_legend)
        trend_column.addWidget(self.trend_plot, 1)
        self.trend_empty = note_label(NO_TREND)
        self.trend_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.trend_pages = QStackedWidget()
        self.trend_pages.addWidget(self.trend_empty)
        self.trend_pages.addWidget(trend_page)

    def _lay_out_report(self) -> QWidget:
        # Tables take the height of their rows; the charts share what is left.
        left_top = stacked_column(
            titled_box("Pass rate per variant", self.pass_table),
            titled_box("Paired comparisons (same cases and repeats)", self.comparisons))
        self.retrieval_box = titled_box("Retrieval against the cases' gold sources",
                                        self.retrieval_table)
        left_middle = stacked_column(
            titled_box("Pass rate per assertion", self.assertion_table, self.assertion_note),
            self.retrieval_box, self.agreement)
        content = QWidget()
        grid = QGridLayout(content)
        grid.setContentsMargins(8, 8, 8, 8)
        grid.setVerticalSpacing(8)
        grid.addWidget(self.heading, 0, 0, 1, 2)
        grid.addWidget(left_top, 1, 0)
        grid.addWidget(titled_box("Pass rate with its 95% interval", self.pass_plot), 1, 1)
        grid.addWidget(left_middle, 2, 0)
        grid.addWidget(titled_box("Ranking from pairwise judgements, best first",
                                  self.ranking_pages, self.ranking_note), 2, 1)
        grid.addWidget(titled_box("Trend over this test set's evaluated runs", self.trend_pages),
                       3, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        for row in (1, 2, 3):
            grid.setRowStretch(row, 1)
        # A small window scrolls rather than squeezing the charts into each other: the charts
        # ask for no more than their minimum, so the page is as tall as its text and tables
        # need, and fills a taller window.
        content.setMinimumWidth(900)
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    # -- showing ---------------------------------------------------------------------------

    def clear(self, message: str) -> None:
        """No report: ``message`` says why and what to do."""
        self.report = None
        self.message.setText(message)
        self.pages.setCurrentWidget(self.message)

    def show_report(self, report: EvalReport, history: Sequence[EvalRun],
                    current_run_id: str | None = None) -> None:
        """The report of one run; ``history``: the evaluated runs of its test set, oldest first
        (the trend), which may include the run itself (``current_run_id`` marks it)."""
        self.report = report
        if self.report_page is None:
            self.report_page = self._build_report_page()
            self.pages.addWidget(self.report_page)
        colors = {v.variant_id: _plots().color_for(i) for i, v in enumerate(report.variants)}
        self._show_heading(report, history, current_run_id)
        names = self._axis_names(report)
        self._show_pass_rates(report, colors, names)
        self._show_comparisons(report)
        self._show_assertions(report, names)
        self._show_retrieval(report)
        self._show_ranking(report, colors, names)
        self._show_agreement(report)
        self._show_trend(report, history, current_run_id)
        self.pages.setCurrentIndex(1)

    def _show_heading(self, report: EvalReport, history: Sequence[EvalRun],
                      current_run_id: str | None) -> None:
        outputs = sum(v.total for v in report.variants)
        current = next((run for run in history if run.run_id == current_run_id), None)
        repeats = f" · {current.repeats} repeats of each case" if current and \
            current.repeats > 1 else ""
        threshold = (f" · held to a pass rate of {current.threshold:.0%}"
                     if current and current.threshold is not None else "")
        count = len(report.variants)
        self.heading.setText(f"{count} variant{'s' * (count != 1)} · {outputs} evaluated "
                             f"outputs{repeats}{threshold}")

    def _axis_names(self, report: EvalReport) -> dict[str, str]:
        """What names each variant under a chart's point or atop a table's column: its label,
        wrapped; or, when shortening would make two alike, its row number in the pass-rate
        table (which then shows the numbers)."""
        labels = [v.label for v in report.variants]
        texts = _plots().axis_texts(labels)
        self.numbered = texts is None
        if texts is None:
            texts = [str(row + 1) for row in range(len(labels))]
        return {v.variant_id: text for v, text in zip(report.variants, texts)}

    def _show_pass_rates(self, report: EvalReport, colors: dict[str, str],
                         names: dict[str, str]) -> None:
        table = self.pass_table
        table.setRowCount(len(report.variants))
        for row, v in enumerate(report.variants):
            score = DASH if v.mean_score is None else f"{v.mean_score:.2f}"
            interval = DASH if v.rate is None else span(v.interval.low, v.interval.high)
            name = f"{row + 1}. {v.label}" if self.numbered else v.label
            # A branch is shown beside its variant's count, never in it (pass_rates.py).
            branches = f"  (+{v.branches} branch{'es' * (v.branches != 1)})" \
                if v.branches else ""
            cells = [cell_item(name, v.label),
                     cell_item(f"{v.passed}/{v.total}{branches}", v.count.branch_note(),
                               align_right=True),
                     cell_item(percent(v.rate), align_right=True), cell_item(interval),
                     cell_item(score, "mean of the outputs' weighted assertion scores (0..1)",
                               align_right=True),
                     cell_item(str(v.errors), align_right=True)]
            cells[0].setData(Qt.ItemDataRole.DecorationRole, _swatch(colors[v.variant_id]))
            for column, cell in enumerate(cells):
                table.setItem(row, column, cell)
        fit_rows(table)
        self.pass_plot.set_points(
            [v.label for v in report.variants], [v.rate for v in report.variants],
            [(v.interval.low, v.interval.high) for v in report.variants],
            [colors[v.variant_id] for v in report.variants],
            [names[v.variant_id] for v in report.variants])

    def _show_comparisons(self, report: EvalReport) -> None:
        sentences = [f"{c.sentence}. {c.score_sentence}." for c in report.comparisons]
        self.comparisons.show_paragraphs(sentences or [ONE_VARIANT])

    def _show_assertions(self, report: EvalReport, names: dict[str, str]) -> None:
        table = self.assertion_table
        labels = list(dict.fromkeys(a.label for a in report.assertions))
        table.clear()
        table.setColumnCount(1 + len(report.variants))
        table.setHorizontalHeaderLabels(["Assertion",
                                         *(names[v.variant_id] for v in report.variants)])
        for column, v in enumerate(report.variants, 1):
            table.horizontalHeaderItem(column).setToolTip(v.label)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.setRowCount(len(labels))
        column_of = {v.variant_id: i + 1 for i, v in enumerate(report.variants)}
        for row, label in enumerate(labels):
            table.setItem(row, 0, cell_item(label))
            for column in range(1, table.columnCount()):
                table.setItem(row, column, cell_item(DASH, "not checked for this variant"))
        row_of = {label: row for row, label in enumerate(labels)}
        for found in report.assertions:
            rate = found.passed / found.total if found.total else None
            table.setItem(row_of[found.label], column_of[found.variant_id], cell_item(
                f"{percent(rate)}  ({found.passed}/{found.total})",
                f"95% interval {span(found.interval.low, found.interval.high)}",
                align_right=True))
        fit_rows(table)
        self.assertion_note.setText("" if labels else NO_ASSERTIONS)
        self.assertion_note.setVisible(not labels)

    def _show_retrieval(self, report: EvalReport) -> None:
        """recall@k and MRR per variant that retrieved, when cases name gold sources; the box
        is hidden for runs without retrieval."""
        scores = report.retrieval
        self.retrieval_box.setVisible(bool(scores))
        table = self.retrieval_table
        table.setRowCount(len(scores))
        for row, score in enumerate(scores):
            scored = score.recall is not None
            cells = [cell_item(score.label),
                     cell_item(str(score.k), "the variant's number of retrieved chunks",
                               align_right=True),
                     cell_item(str(score.cases), "cases naming gold sources", align_right=True),
                     cell_item(f"{score.recall:.2f}" if scored else DASH,
                               "share of a case's gold sources among its k chunks, averaged",
                               align_right=True),
                     cell_item(f"{score.mrr:.2f}" if scored else DASH,
                               "mean of 1/rank of the first chunk from a gold source",
                               align_right=True)]
            for index, cell in enumerate(cells):
                table.setItem(row, index, cell)
        fit_rows(table)

    def _show_ranking(self, report: EvalReport, colors: dict[str, str],
                      names: dict[str, str]) -> None:
        ranking = report.ranking
        if ranking is None:
            self.ranking_plot.reset()
            self.ranking_pages.setCurrentWidget(self.ranking_empty)
            self.ranking_note.setText("")
            self.ranking_note.hide()
            return
        items = list(ranking.items)  # best first already
        self.ranking_plot.set_points(
            [report.label(e.item) for e in items], [e.strength for e in items],
            [(e.interval.low, e.interval.high) if e.interval else None for e in items],
            [colors.get(e.item, "#333333") for e in items],
            [names.get(e.item, "?") for e in items])
        self.ranking_pages.setCurrentWidget(self.ranking_plot)
        records = "\n".join(f"{report.label(e.item)}: won {e.wins:g} of {e.comparisons}"
                             for e in items)
        used = report.preferences_used
        self.ranking_note.setText(
            f"Bradley–Terry log-strengths from {used} pairwise judgement{'s' * (used != 1)} "
            "(blind compare and judges); whiskers: 95% bootstrap intervals.")
        self.ranking_note.setToolTip(records)
        self.ranking_plot.setToolTip(records)
        self.ranking_note.show()

    def _show_agreement(self, report: EvalReport) -> None:
        agreement = report.judge_agreement
        if agreement is None or agreement.tau is None:
            self.agreement.hide()
            return
        p_value = "" if agreement.p_value is None else f", p = {agreement.p_value:.2g}"
        self.agreement.setText(f"Judge agreement with your star ratings: Kendall τ = "
                               f"{agreement.tau:.2f}{p_value} over {agreement.n} outputs rated "
                               "by both.")
        self.agreement.show()

    def _show_trend(self, report: EvalReport, history: Sequence[EvalRun],
                    current_run_id: str | None) -> None:
        runs, series = _plots().trend_of(history)
        if len(runs) < 2:
            self.trend_plot.reset()
            self.trend_legend.clear()
            self.trend_pages.setCurrentWidget(self.trend_empty)
            return
        # The report's variants keep their colours; labels only older runs had come after.
        order = [v.label for v in report.variants]
        order += [label for label in series if label not in order]
        colors = {label: _plots().color_for(i) for i, label in enumerate(order)}
        ordered = {label: series[label] for label in order if label in series}
        run_labels = [f"#{i + 1} {local_time(run.created_at):%m-%d %H:%M}"
                      for i, run in enumerate(runs)]
        current = next((i for i, run in enumerate(runs) if run.run_id == current_run_id), None)
        self.trend_plot.set_series(run_labels, ordered, colors, current)
        self.trend_legend.setText(_plots().legend_html({label: colors[label] for label in ordered}))
        self.trend_pages.setCurrentIndex(1)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.shown.emit()


def _swatch(color: str) -> QPixmap:
    """The variant's colour in the plots, beside its name in the table."""
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(color))
    return pixmap


def load_evaluation(store: Store, run: Run) -> tuple[EvalReport | None, list[EvalRun]]:
    """The run's report (None when nothing of it was evaluated or judged) and the evaluated
    runs of its test set, oldest first, the run's own point from the same report as the table
    (trend.py). Blocking: reads the store and bootstraps."""
    report = report_for_run(store, run.id)
    history = trend_history(store, run, report)
    if all(v.total == 0 for v in report.variants) and report.ranking is None \
            and not report.retrieval:  # gold sources alone are worth a report
        return None, history
    return report, history


class EvaluationLoader(QObject):
    """Keeps the view on the run the grid shows. The report is computed in the background,
    and only while the view is visible: it is computed again each time the tab is shown (a
    blind comparison or a rating on the grid changes it; it takes well under a second), and
    when ``refresh`` is called while it is visible. Only the latest answer is shown."""

    def __init__(self, view: EvalResultsView, store: Store,
                 current_run: Callable[[], Run | None], parent: QObject | None = None):
        super().__init__(parent)
        self.view, self.store, self.current_run = view, store, current_run
        self.shown_run_id: str | None = None
        self._call: BackgroundCall | None = None
        view.shown.connect(self.refresh)

    def refresh(self) -> None:
        """Show the current run's evaluation as the store has it now, if the view is
        visible (otherwise it is done when the view is shown)."""
        if not self.view.isVisible():
            return
        run = self.current_run()
        if run is None:
            self.shown_run_id = None
            self.view.clear(NO_RUN)
            return
        if run.id != self.shown_run_id or self.view.report is None:
            self.view.clear(LOADING)  # the same run's older report stays until the new one
        self.shown_run_id = run.id
        if self._call is not None:
            self._call.succeeded.disconnect()
            self._call.failed.disconnect()
            self._call.deleteLater()  # its thread finds it gone and drops the answer
        store = self.store
        self._call = BackgroundCall(lambda: load_evaluation(store, run), self)
        self._call.succeeded.connect(lambda answer, run_id=run.id: self._show(run_id, answer))
        self._call.failed.connect(self._failed)
        self._call.start()

    def _show(self, run_id: str, answer: tuple[EvalReport | None, list[EvalRun]]) -> None:
        if run_id != self.shown_run_id:
            return
        report, history = answer
        if report is None:
            self.view.clear(NOT_EVALUATED)
        else:
            self.view.show_report(report, history, current_run_id=run_id)

    def _failed(self, message: str) -> None:
        self.view.clear(f"The evaluation report could not be computed: {message}")
