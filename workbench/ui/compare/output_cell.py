"""One cell of the comparison grid: streamed text (or its tokens), timing figures, verdict,
repeats, rating, and the token inspector's branch line and answer likelihood."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QStackedWidget,
    QToolButton,
    QToolTip,
    QVBoxLayout,
)

from ...core.evaluation import CaseVerdict, EvalResult
from ...core.model_info import describe_engine
from ...core.ratings import THUMBS_DOWN, THUMBS_UP
from ...core.runs import Output
from ...core.sampling import describe_sampling
from ...core.tokens import AnswerLikelihood, TokenTrace
from ...core.wording import counted, rate
from .score_line import LINE_COLOUR, score_line
from .token_view import TokenView, percent, quoted

TEXT_LINES_CAP = 10  # a cell grows with its answer up to this many lines, then scrolls
PASS_STYLE = "background:#2e7d32; color:white; border-radius:3px; padding:1px 5px; font-weight:bold"
FAIL_STYLE = "background:#c62828; color:white; border-radius:3px; padding:1px 5px; font-weight:bold"
GROUNDED_STYLE, UNGROUNDED_STYLE = "color:#2e7d32; font-size:9pt", "color:#c62828; font-size:9pt"
TOOLTIP_TEXT_CHARS = 80  # a distinct answer in the repeats tooltip, cut to one readable line


class OutputCell(QFrame):
    rated = Signal(str, int, str)  # output id, score, note
    rerun_requested = Signal()
    trace_wanted = Signal()  # the Tokens view needs the shown output's trace (read it off-GUI)
    branch_requested = Signal(int, int)  # position, token id chosen in the token view
    likelihood_requested = Signal()
    prompt_requested = Signal()  # ⋯ ▸ Prompt sent…
    layout_changed = Signal()  # the height it wants changed: the grid refits its row

    def __init__(self, parent=None):
        super().__init__(parent)
        self.output: Output | None = None
        self.key: tuple[str, str] | None = None  # (variant id, case id) of the shown cell
        self.expected: str | None = None  # the case's expected answer (for its likelihood)
        self.token_view: TokenView | None = None  # built when first asked for
        self.trace_output_id: str | None = None  # whose trace the token view shows
        # The branch this cell is generating: (position, old piece, new piece), for its line.
        self.pending_branch: tuple[int, bytes, bytes] | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.body = QStackedWidget()  # the text, or the same output as tokens
        self.body.addWidget(self.text)
        layout.addWidget(self.body, 1)
        self._build_lines(layout)
        layout.addLayout(self._build_rating_row())
        self._connect_rating_row()
        self._set_rating_enabled(False)

    def _build_lines(self, layout: QVBoxLayout) -> None:
        """The lines under the text, each shown only when it has something to say."""
        def line(style: str, hidden: bool = True) -> QLabel:
            label = QLabel()
            label.setWordWrap(True)
            label.setStyleSheet(style)
            if hidden:
                label.hide()
            layout.addWidget(label)
            return label

        self.branch_line = line("color:#1565c0; font-size:9pt")  # "branched at token 3 (…)"
        self.error = line("color:#c62828")
        self.flags = line("color:#e65100")  # filled by output filters (plugins)
        self.notice = line("color:#666; font-style:italic")  # a stopped cell is not an error
        self.stats = line("color:#555", hidden=False)
        # filled by scorers (plugins), on its own line to stay readable, each figure coloured
        # by its value
        self.scores = line(f"color:{LINE_COLOUR}")
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.grounding = line("")  # "2 quotes: 2 supported" against the retrieved chunks
        # why the verdict failed: the first failing assertion's reason
        self.reason = line("color:#b71c1c; font-size:9pt")
        self.repeats = line("color:#37474f; font-size:9pt")  # "3 repeats · 2 distinct · 2/3 pass"
        # the expected answer's NLL, perplexity, least likely tokens
        self.likelihood = line("color:#4a148c; font-size:9pt")

    def _build_rating_row(self) -> QHBoxLayout:
        """Verdict badge, rating, note, and the cell's own actions."""
        row = self._rating_row = QHBoxLayout()
        self.badge = QLabel()  # "✓ pass" / "✗ fail 0.40", where the eye meets the rating
        self.badge.hide()
        row.addWidget(self.badge)
        self.up = QToolButton(text="▲ good", toolTip="Thumbs up (stored as 5 stars)")
        self.down = QToolButton(text="▼ bad", toolTip="Thumbs down (stored as 1 star)")
        self.stars = QComboBox()
        self.stars.addItems(["stars…", "1", "2", "3", "4", "5"])
        self.note = QLineEdit(placeholderText="note")
        self.note.setToolTip("A note kept with this cell's rating: type it, then press Return "
                             "or choose the stars")
        self.rerun = QToolButton(text="⟳", toolTip="Generate this cell again")
        # The text box takes clicks for selecting text, so picking a cell for Diff is a button.
        self.pick = QToolButton(text="⇄", checkable=True,
                                toolTip="Pick this cell for “Diff two cells”")
        self.tokens_button = QToolButton(
            text="Tokens", checkable=True,
            toolTip="Show this output as tokens coloured by probability; hover a token for "
                    "the alternatives, click it to branch from there")
        self.more = self._more_button()
        for widget in (self.up, self.down, self.stars, self.note, self.rerun, self.pick,
                       self.tokens_button, self.more):
            row.addWidget(widget)
        return row

    def _more_button(self) -> QToolButton:
        """⋯: the likelihood of the expected answer, and the prompt that was sent."""
        more = QToolButton(text="⋯", toolTip="More about this output")
        more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(more)
        self.likelihood_action = menu.addAction("Likelihood of expected")
        self.likelihood_action.setToolTip("How likely the model finds the case's expected "
                                          "answer: NLL, perplexity, least likely tokens")
        self.prompt_action = menu.addAction("Prompt sent…")
        self.prompt_action.setToolTip("The messages this output's prompt held, the text the "
                                      "model read, and the chunks retrieval put in")
        more.setMenu(menu)
        return more

    def _connect_rating_row(self) -> None:
        self.up.clicked.connect(lambda: self.rate(THUMBS_UP))
        self.down.clicked.connect(lambda: self.rate(THUMBS_DOWN))
        self.stars.activated.connect(self._on_stars)
        self.note.returnPressed.connect(self._on_note_entered)
        self.rerun.clicked.connect(self.rerun_requested.emit)
        self.tokens_button.toggled.connect(self._on_tokens_toggled)
        self.likelihood_action.triggered.connect(self._on_likelihood)
        self.prompt_action.triggered.connect(self._on_prompt)

    # -- streaming -----------------------------------------------------------------------

    def clear(self) -> None:
        """Empty, for another run of the same grid shape."""
        self.start()
        self.stats.setText("")
        self.stats.setToolTip("")
        self.show_flags([])
        self.show_scores({})
        self.show_verdict(None)
        self.show_repeats([], {})
        self.stars.setCurrentIndex(0)
        self.note.clear()
        self.pick.setChecked(False)
        self.tokens_button.setChecked(False)
        self.pending_branch = None
        self.likelihood.hide()

    def start(self) -> None:
        self.output = None
        self.text.clear()
        self.error.hide()
        self.notice.hide()
        self.flags.hide()
        self.branch_line.hide()
        self.body.setCurrentWidget(self.text)  # streaming shows as text; tokens come after
        self.show_verdict(None)  # the new output has not been checked yet
        self.show_grounding(None)
        self.stats.setText("generating…")
        self._set_rating_enabled(False)

    def append(self, piece: str) -> None:
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)

    def show_output(self, output: Output, score: int | None = None, note: str = "") -> None:
        """``score`` and ``note``: the output's latest stored rating (none for a new one)."""
        self.output = output
        if self.text.toPlainText() != output.text:
            self.text.setPlainText(output.text)
        self.error.setText(output.error or "")
        self.error.setVisible(bool(output.error) and not output.cancelled)
        self.notice.setText(cancel_notice(output) if output.cancelled else "")
        self.notice.setVisible(output.cancelled)
        parts = [counted(output.token_count, "token")]
        if output.tokens_per_second:
            parts.append(rate(output.tokens_per_second))
        if output.time_to_first_token_s is not None and not output.error:
            parts.append(f"first {output.time_to_first_token_s * 1000:.0f} ms")
        parts.append(output.finish_reason or "—")
        self.stats.setText(" · ".join(parts))
        self.stats.setToolTip(provenance(output))
        self._set_rating_enabled(True)
        self.stars.setCurrentIndex(score or 0)
        self.note.setText(note)
        self._show_branch_line(output)
        if self.tokens_button.isChecked():
            self._want_trace()

    def show_cancelled(self) -> None:
        """A cell the stop reached before the run told us its output (queued, never started)."""
        if self.output is None:
            self.notice.setText("Cancelled.")
            self.notice.show()
            self.stats.setText("cancelled")

    def show_flags(self, reasons: list[str]) -> None:
        self.flags.setText("⚑ " + "; ".join(reasons) if reasons else "")
        self.flags.setVisible(bool(reasons))
        self.setStyleSheet("OutputCell { border: 2px solid #ef6c00; }" if reasons else "")

    def show_scores(self, scores: dict[str, float]) -> None:
        line = score_line(scores)
        self.scores.setText(line)
        self.scores.setVisible(bool(line))

    def show_grounding(self, report) -> None:
        """The grounding check (core/grounding.py) of the shown output; None: hidden."""
        if report is None:
            self.grounding.hide()
            return
        self.grounding.setText(f"Grounding: {report.summary()}")
        self.grounding.setStyleSheet(GROUNDED_STYLE if report.passed else UNGROUNDED_STYLE)
        self.grounding.setToolTip(report.details() or "The answer quotes nothing.")
        self.grounding.show()

    def show_verdict(self, verdict: CaseVerdict | None) -> None:
        """The badge for the shown output's verdict (None: not checked, nothing shown)."""
        if verdict is None:
            self.badge.hide()
            self.reason.hide()
            self.reason.setText("")
            return
        if verdict.passed:
            self.badge.setText("✓ pass")
            self.badge.setStyleSheet(PASS_STYLE)
        else:
            self.badge.setText(f"✗ fail {verdict.score:.2f}")
            self.badge.setStyleSheet(FAIL_STYLE)
        reason = "" if verdict.passed else verdict.reason
        details = verdict_tooltip(verdict)
        self.badge.setToolTip(f"{reason}\n\n{details}" if reason and reason != details
                              else details)
        self.badge.show()
        self.reason.setText(reason)
        self.reason.setToolTip(verdict_tooltip(verdict))
        self.reason.setVisible(bool(reason))

    def show_repeats(self, outputs: list[Output], results: dict[str, EvalResult]) -> None:
        """The line under a cell run several times: how many, how many distinct answers,
        how many passed; the tooltip counts each distinct answer."""
        if len(outputs) < 2:
            self.repeats.hide()
            self.repeats.setText("")
            return
        groups = distinct_texts(outputs)
        parts = [f"{len(outputs)} repeats", f"{len(groups)} distinct"]
        checked = [results[o.id] for o in outputs if o.id in results]
        if checked:
            parts.append(f"{sum(r.passed for r in checked)}/{len(checked)} pass")
        self.repeats.setText(" · ".join(parts))
        self.repeats.setToolTip("\n".join(f"{count}× {one_line(text)}" for text, count in groups))
        self.repeats.show()

    # -- size ----------------------------------------------------------------------------

    def wanted_height(self, width: int) -> int:
        """The height this cell needs at ``width``: its text (wrapped, at least one line, at
        most TEXT_LINES_CAP) plus the visible labels and the rating row. Short answers make
        short rows."""
        metrics = self.text.fontMetrics()
        margins = self.layout().contentsMargins()
        inner = max(40, width - margins.left() - margins.right() - 2 * self.frameWidth())
        # The text box's frame, document margin and a vertical scrollbar's room.
        text_width = max(20, inner - 2 * self.text.frameWidth() - 8
                         - self.text.verticalScrollBar().sizeHint().width())
        text = self.text.toPlainText() or " "
        wrapped = metrics.boundingRect(QRect(0, 0, text_width, 1_000_000),
                                       int(Qt.TextFlag.TextWordWrap), text).height()
        line = metrics.lineSpacing()
        # QPlainTextEdit scrolls unless its viewport has two pixels beyond text and margins.
        margin = int(self.text.document().documentMargin())
        height = (min(max(wrapped, line), TEXT_LINES_CAP * line) + 2 * margin + 2
                  + 2 * self.text.frameWidth())
        if self.token_view is not None and self.body.currentWidget() is self.token_view:
            height = self.token_view.wanted_height(inner)
        shown = [w for w in self._lines_below_text() if not w.isHidden()]
        for widget in shown:
            height += widget.heightForWidth(inner) if widget.hasHeightForWidth() \
                else widget.sizeHint().height()
        height += self._rating_row.sizeHint().height()
        spacing = self.layout().spacing()
        # + 1: the grid's line between rows comes out of the row's height.
        return height + spacing * (len(shown) + 1) + margins.top() + margins.bottom() \
            + 2 * self.frameWidth() + 1

    def _lines_below_text(self) -> list:
        """Every widget the cell stacks under its text (taken from the layout, so a line
        added later counts: the grounding line once did not, and squeezed the answer)."""
        layout = self.layout()
        widgets = (layout.itemAt(index).widget() for index in range(layout.count()))
        return [w for w in widgets if w is not None and w is not self.body]

    # -- rating --------------------------------------------------------------------------

    def _on_stars(self, index: int) -> None:
        if index:  # item 0 is the "stars…" placeholder
            self.rate(index)

    def _on_note_entered(self) -> None:
        """Return in the note box stores the note with the stars shown (a rating holds the
        note: with no stars yet, the user is told to choose them)."""
        score = self.stars.currentIndex()
        if score:
            self.rate(score)
        elif self.output is not None:
            QToolTip.showText(self.note.mapToGlobal(self.note.rect().bottomLeft()),
                              "Choose the stars (or ▲/▼) first: the note is kept with the "
                              "rating.", self.note)

    def rate(self, score: int) -> None:
        if self.output is None:
            return
        self.stars.setCurrentIndex(score)
        self.rated.emit(self.output.id, score, self.note.text())

    def _set_rating_enabled(self, enabled: bool) -> None:
        for widget in (self.up, self.down, self.stars, self.note, self.rerun, self.pick,
                       self.tokens_button, self.more):
            widget.setEnabled(enabled)
        self.set_expected(self.expected)

    # -- token inspector -----------------------------------------------------------------

    def set_expected(self, expected: str | None) -> None:
        """The case's expected answer: its likelihood can be asked for only when there is one."""
        self.expected = expected
        self.likelihood_action.setEnabled(bool(expected) and self.output is not None)
        self.likelihood_action.setToolTip(
            "How likely the model finds the case's expected answer" if expected else
            "This case has no expected answer: add one in the cases' Expected column")

    def _on_tokens_toggled(self, on: bool) -> None:
        if not on:
            self.body.setCurrentWidget(self.text)
        else:
            self._ensure_token_view()
            self.body.setCurrentWidget(self.token_view)
            self._want_trace()
        self.layout_changed.emit()

    def _ensure_token_view(self) -> TokenView:
        if self.token_view is None:
            self.token_view = TokenView()
            self.token_view.branch_requested.connect(self.branch_requested.emit)
            self.token_view.layout_changed.connect(self.layout_changed.emit)
            self.body.addWidget(self.token_view)
        return self.token_view

    def _want_trace(self) -> None:
        if self.output is None or self.trace_output_id == self.output.id:
            if self.output is not None:
                self.body.setCurrentWidget(self.token_view)
            return
        view = self._ensure_token_view()
        view.set_trace(None)
        view.legend.setText("Reading the tokens…")
        self.body.setCurrentWidget(view)
        if self.output.token_trace is not None:
            self.show_trace(self.output.id, self.output.token_trace)
        else:
            self.trace_wanted.emit()

    def show_trace(self, output_id: str, trace: TokenTrace | None) -> None:
        """The trace read for ``output_id`` (ignored when the cell shows another output now)."""
        if self.output is None or self.output.id != output_id:
            return
        view = self._ensure_token_view()
        self.trace_output_id = output_id
        view.set_trace(trace)
        if trace is None:
            view.legend.setText("No tokens were stored with this output (outputs from before "
                                "the token inspector, a remote model's or a failed cell's "
                                "have none): run the cell again to record them.")
        elif self.output.branch_of and self.pending_branch is None:
            self._show_branch_line(self.output, trace)  # a stored branch: name its token
        if self.tokens_button.isChecked():
            self.body.setCurrentWidget(view)

    def _show_branch_line(self, output: Output, trace: TokenTrace | None = None) -> None:
        if not output.branch_of or not output.forced_tokens:
            self.branch_line.hide()
            return
        trace = trace or output.token_trace
        position = len(output.forced_tokens) - 1
        line = f"branched at token {position}"
        if self.pending_branch is not None and self.pending_branch[0] == position:
            _, old, new = self.pending_branch
            line += f" ({quoted(old)} → {quoted(new)})"
        elif trace is not None and len(trace.tokens) > position:
            line += f" (→ {quoted(trace.tokens[position].piece)})"
        self.branch_line.setText(line)
        self.branch_line.show()
        self.layout_changed.emit()

    def _on_prompt(self, _checked: bool = False) -> None:
        if self.output is not None:
            self.prompt_requested.emit()

    def _on_likelihood(self) -> None:
        if self.output is None or not self.expected:
            return
        self.likelihood.setText("Scoring the expected answer…")
        self.likelihood.show()
        self.layout_changed.emit()
        self.likelihood_requested.emit()

    def show_likelihood(self, result: AnswerLikelihood | str) -> None:
        """The expected answer's likelihood (or why it could not be computed)."""
        self.likelihood.setText(result if isinstance(result, str) else likelihood_line(result))
        self.likelihood.show()
        self.layout_changed.emit()


def likelihood_line(result: AnswerLikelihood, least: int = 3) -> str:
    """'Expected answer: 4 tokens · NLL 6.21 · perplexity 4.7 · least likely ' Paris' 3%'."""
    worst = " · ".join(f"{quoted(token.piece)} {percent(token.probability or 0.0)}"
                       for _, token in result.least_likely(least))
    return (f"Expected answer: {counted(len(result.tokens), 'token')} · "
            f"NLL {result.total_nll:.2f} · "
            f"perplexity {result.perplexity:.2f}" + (f" · least likely: {worst}" if worst else ""))


def cancel_notice(output: Output) -> str:
    if output.text:
        return (f"Cancelled — stopped after {counted(output.token_count, 'token')}; the text so "
                "far is kept.")
    return "Cancelled — the run was stopped before this cell started."


def provenance(output: Output) -> str:
    """What decided this output's tokens: the first place to look when two cells differ."""
    seed = f" · seed {output.seed}" if output.seed is not None else ""
    lines = [f"Sampling: {describe_sampling(output.sampling)}{seed}"]
    if output.engine_settings:
        lines.append(f"Engine: {describe_engine(output.engine_settings)}")
    if output.adapter_path:
        lines.append(f"Adapter: {output.adapter_path} × {output.adapter_scale}")
    return "\n".join(lines)


def distinct_texts(outputs: list[Output]) -> list[tuple[str, int]]:
    """Identical answers grouped: (text, how many), most frequent first, ties as they came."""
    return Counter(output.text for output in outputs).most_common()


def one_line(text: str) -> str:
    flat = " ".join(text.split()) or "(empty)"
    return flat if len(flat) <= TOOLTIP_TEXT_CHARS else flat[:TOOLTIP_TEXT_CHARS - 1] + "…"


def verdict_tooltip(verdict: CaseVerdict) -> str:
    """Every assertion's result, one line each (the badge shows only the first failure)."""
    if verdict.error:
        return verdict.error
    lines = [f"{'✓' if r.passed else '✗'} {r.assertion.label} {r.score:.2f}"
             + (f" — {r.reason}" if r.reason else "") for r in verdict.results]
    return "\n".join(lines) or "No assertions."
