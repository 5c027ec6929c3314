"""An output as the model produced it: one chip per token, coloured by the chosen token's
probability, with the alternatives the model weighed at each position.

Hovering a token shows its id, probability and top-k alternatives; clicking it lists the
alternatives as buttons, and choosing one asks for a branch (``branch_requested``). The chips'
texts joined give back the output's exact bytes: a character split over several tokens (emoji,
CJK) is shown once, on the token that completes it; the tokens before are marked partial.
"""

from __future__ import annotations

import codecs
import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...core.generation import TokenEvent
from ...core.tokens import TokenInfo, TokenTrace
from ...core.wording import counted

NO_PROBABILITIES = ("probabilities were not captured: set --n-probs K in the variant's "
                    "Sampling")
# Probability bands, lowest first: (upper bound, background, legend label). Five light
# colours from red to green keep dark text readable on every chip.
BANDS = ((0.1, "#ef9a9a", "<10%"), (0.3, "#ffcc80", "10–30%"), (0.6, "#fff59d", "30–60%"),
         (0.9, "#c5e1a5", "60–90%"), (1.01, "#81c784", "≥90%"))
NEUTRAL = ("#eceff1", "#e3f2fd")  # alternating chips when no probabilities were captured
FORCED_PEN = "#1565c0"  # a blue frame: a token the user forced (a branch)
SPECIAL_TEXT = "#6a1b9a"
SELECTED_PEN = "#212121"
# Special tokens are rendered as their names (<|im_end|>, <start_of_turn>, </s>): a piece
# that is exactly such a name is marked special.
SPECIAL_PIECE = re.compile(r"^(<\|[^|<>\s]{1,40}\|>|</?(s|unk|pad|bos|eos|start_of_turn|"
                           r"end_of_turn|mask)>|\[/?INST\])$")
CHIP_PAD = 3  # pixels either side of a chip's text
CHIP_GAP = 2  # between chips and between lines


@dataclass(frozen=True)
class TokenChip:
    """What one token shows: ``text`` (its share of the output's text, "" for a token in the
    middle of a character), whether it is partial, and whether it is a special token."""

    index: int
    token: TokenInfo
    text: str
    partial: bool
    special: bool

    @property
    def label(self) -> str:
        """The text as drawn: line ends and tabs made visible, partial bytes as ⋯."""
        if self.partial:
            return "⋯"
        if not self.text:
            return "∅"
        if not self.text.strip(" "):
            return "␣" * len(self.text)
        return self.text.replace("\r", "␍").replace("\n", "↵").replace("\t", "→")


def token_chips(trace: TokenTrace, special_ids: Iterable[int] = ()) -> list[TokenChip]:
    """The trace's tokens with the text each completes (UTF-8 decoded incrementally). An
    output cut off mid-character (max tokens reached) ends in partial tokens: those bytes are
    no text, and the chips' texts are the output's whole characters."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    special = set(special_ids)
    chips = []
    for index, token in enumerate(trace.tokens):
        text = decoder.decode(token.piece)
        partial = bool(token.piece) and not text
        chips.append(TokenChip(index, token, text, partial, token.token_id in special
                               or bool(SPECIAL_PIECE.match(text))))
    return chips


def trace_from_events(events: Iterable[TokenEvent]) -> TokenTrace:
    """A generation's streamed tokens as a trace (the chat keeps its replies this way).
    Events without a token (id -1: text a stop string held back) are not tokens."""
    return TokenTrace(tuple(
        TokenInfo(e.token_id, e.piece if e.piece is not None else e.text.encode("utf-8"),
                  e.logprob, tuple(e.alternatives), e.forced)
        for e in events if e.token_id >= 0))


def band_colour(probability: float | None) -> str | None:
    if probability is None:
        return None
    return next(colour for bound, colour, _ in BANDS if probability < bound)


def percent(probability: float) -> str:
    return f"{probability:.1%}" if probability < 0.1 else f"{probability:.0%}"


def quoted(piece: bytes | str) -> str:
    """A token's text in quotes with invisible characters shown (repr's escapes)."""
    text = piece.decode("utf-8", "backslashreplace") if isinstance(piece, bytes) else piece
    return repr(text)


def token_tooltip(chip: TokenChip) -> str:
    """The hover text: position, id, probability, and the top-k alternatives."""
    token = chip.token
    lines = [f"Token {chip.index} · id {token.token_id} · {quoted(token.piece)}"]
    if chip.partial:
        lines.append("part of a character, shown on the token that completes it: bytes "
                     + token.piece.hex(" "))
    if chip.special:
        lines.append("special token")
    if token.forced:
        lines.append("forced (a branch: chosen by you, not sampled)")
    if token.probability is None:
        lines.append(NO_PROBABILITIES)
    else:
        lines.append(f"p = {percent(token.probability)}  (log-prob {token.logprob:.3f})")
    if token.top:
        lines.append(f"Top {len(token.top)}:")
        for alt in token.top:
            mark = "▶" if alt.token_id == token.token_id else "  "
            lines.append(f"{mark} {quoted(alt.piece)}  {percent(math.exp(alt.logprob))}  "
                         f"(id {alt.token_id})")
    return "\n".join(lines)


class TokenFlow(QWidget):
    """The chips, laid out like text: wrapping at the width, a new line after a line end."""

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.chips: list[TokenChip] = []
        self.selected: int | None = None
        self.hovered_index: int | None = None  # framed while the pointer is on it
        self._rects: list[QRect] = []
        self._laid_for = -1
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_chips(self, chips: list[TokenChip]) -> None:
        self.chips, self.selected, self.hovered_index, self._laid_for = chips, None, None, -1
        self._fit()
        self.update()

    # -- geometry ------------------------------------------------------------------------

    def layout_for(self, width: int) -> tuple[list[QRect], int]:
        """Each chip's rectangle at ``width``, and the height they need."""
        metrics = QFontMetrics(self.font())
        line = metrics.height() + 2
        x = y = 0
        rects = []
        for chip in self.chips:
            w = min(width, metrics.horizontalAdvance(chip.label) + 2 * CHIP_PAD)
            if x and x + w > width:
                x, y = 0, y + line + CHIP_GAP
            rects.append(QRect(x, y, w, line))
            x += w + CHIP_GAP
            if "\n" in chip.text:  # the text goes on on a new line, as it reads
                x, y = 0, y + line + CHIP_GAP
        height = (rects[-1].bottom() + 1 if rects else line)
        return rects, height

    def height_for(self, width: int) -> int:
        return self.layout_for(max(40, width))[1]

    def token_rect(self, index: int) -> QRect:
        """Where token ``index`` is drawn (tests hover and click there)."""
        self._ensure_laid()
        return QRect(self._rects[index])

    def token_at(self, pos: QPoint) -> int | None:
        self._ensure_laid()
        return next((i for i, rect in enumerate(self._rects) if rect.contains(pos)), None)

    def _ensure_laid(self) -> None:
        if self._laid_for != self.width():
            self._rects, _ = self.layout_for(max(40, self.width()))
            self._laid_for = self.width()

    def _fit(self) -> None:
        self.setMinimumHeight(self.height_for(self.width()))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._laid_for = -1
        self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(300, self.height_for(300))

    # -- drawing and pointing ------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802
        self._ensure_laid()
        with QPainter(self) as painter:  # ended here, whoever still holds the object
            for chip, rect in zip(self.chips, self._rects):
                if not rect.intersects(event.rect()):
                    continue
                colour = band_colour(chip.token.probability) or NEUTRAL[chip.index % 2]
                painter.fillRect(rect, QColor(colour))
                pen = QPen(QColor("#9e9e9e"))
                if chip.token.forced:
                    pen = QPen(QColor(FORCED_PEN), 2)
                if chip.index in (self.selected, self.hovered_index):
                    pen = QPen(QColor(SELECTED_PEN), 2)
                if chip.partial:
                    pen.setStyle(Qt.PenStyle.DotLine)
                painter.setPen(pen)
                painter.drawRect(rect.adjusted(0, 0, -1, -1))
                painter.setPen(QColor(SPECIAL_TEXT if chip.special else
                                      "#757575" if chip.partial else "#111111"))
                painter.drawText(rect.adjusted(CHIP_PAD, 0, -CHIP_PAD, 0),
                                 int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                                 chip.label)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.token_at(event.pos())
            if index is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), token_tooltip(self.chips[index]), self,
                                  self.token_rect(index))
                self.hovered.emit(index)
            self._hover(index)
            return True
        if event.type() == QEvent.Type.Leave:
            self._hover(None)
        return super().event(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        self._hover(self.token_at(event.position().toPoint()))
        super().mouseMoveEvent(event)

    def _hover(self, index: int | None) -> None:
        if index != self.hovered_index:
            self.hovered_index = index
            self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.token_at(event.position().toPoint())
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = index
            self.update()
            self.clicked.emit(index)
        event.accept()  # a click on a token is not a click on the grid cell around it


def legend_html(has_probabilities: bool) -> str:
    if not has_probabilities:
        return (f'<span style="color:#666">Token boundaries and ids only — '
                f"{html.escape(NO_PROBABILITIES, quote=False)}.</span>")
    swatches = " ".join(f'<span style="background:{colour}">&nbsp;{html.escape(label)}&nbsp;'
                        "</span>" for _, colour, label in BANDS)
    return (f"Probability of the chosen token: {swatches} · "
            f'<span style="color:{FORCED_PEN}">▭ forced</span> · '
            f'<span style="color:{SPECIAL_TEXT}">special</span> · ⋯ part of a character')


class TokenView(QWidget):
    """A trace as tokens, with a legend and, for the clicked token, its alternatives."""

    branch_requested = Signal(int, int)  # position, token id
    layout_changed = Signal()  # the height it wants changed (a grid row may refit)
    FLOW_LINES_CAP = 8  # in a grid cell the chips scroll beyond this many lines

    def __init__(self, parent=None, *, branchable: bool = True):
        super().__init__(parent)
        self.trace: TokenTrace | None = None
        self.branchable = branchable
        # Its own background: labels stay readable over a selected grid cell's colour.
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("font-size:8pt")
        layout.addWidget(self.legend)
        self.flow = TokenFlow()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.flow)
        layout.addWidget(self.scroll, 1)
        self.details = QLabel("Click a token to see the alternatives the model weighed.")
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        self.details.setStyleSheet("color:#37474f; font-size:9pt")
        layout.addWidget(self.details)
        self.choices = QWidget()
        self.choices_layout = QGridLayout(self.choices)
        self.choices_layout.setContentsMargins(0, 0, 0, 0)
        self.choices_layout.setSpacing(2)
        self.choices.hide()
        layout.addWidget(self.choices)
        self.alternative_buttons: list[QPushButton] = []
        self.flow.clicked.connect(self.select)

    def set_trace(self, trace: TokenTrace | None, special_ids: Iterable[int] = ()) -> None:
        self.trace = trace
        chips = token_chips(trace, special_ids) if trace is not None else []
        self.flow.set_chips(chips)
        captured = any(t.logprob is not None for t in trace.tokens) if trace else False
        self.legend.setText(legend_html(captured) if trace is not None and trace.tokens
                            else "No tokens were recorded for this output.")
        self.details.setText("Click a token to see the alternatives the model weighed."
                             if chips else "")
        self._clear_choices()
        self.layout_changed.emit()

    @property
    def chips(self) -> list[TokenChip]:
        return self.flow.chips

    def display_texts(self) -> list[str]:
        """Each token's share of the text; joined, they are the output's text."""
        return [chip.text for chip in self.flow.chips]

    def select(self, index: int) -> None:
        """Show token ``index``'s alternatives as buttons (choosing one asks for a branch)."""
        chip = self.flow.chips[index]
        self.flow.selected = index
        self.flow.update()
        token = chip.token
        probability = ("" if token.probability is None
                       else f" · p {percent(token.probability)}")
        head = f"Token {index}: {quoted(token.piece)} (id {token.token_id}){probability}"
        self._clear_choices()
        if not token.top:
            self.details.setText(f"{head} — no alternatives: {NO_PROBABILITIES}.")
            self.layout_changed.emit()
            return
        if not self.branchable:  # nothing to do with them here: listed, not offered
            choices = " · ".join(f"{'▶ ' if alt.token_id == token.token_id else ''}"
                                 f"{quoted(alt.piece)} {percent(math.exp(alt.logprob))}"
                                 for alt in token.top)
            self.details.setText(f"{head} — the model's top choices: {choices}")
            self.layout_changed.emit()
            return
        self.details.setText(f"{head} — continue from here with another token:")
        columns = 3
        for number, alt in enumerate(token.top):
            button = QPushButton(f"{quoted(alt.piece)} {percent(math.exp(alt.logprob))}")
            chosen = alt.token_id == token.token_id
            button.setToolTip(f"id {alt.token_id}" + (
                " — the token generated here" if chosen else
                f" — branch: keep the {counted(index, 'token')} before, put this at {index}, "
                "generate on"))
            button.setEnabled(not chosen)
            if chosen:
                button.setText("▶ " + button.text())
            button.clicked.connect(lambda _=False, i=index, t=alt.token_id:
                                   self.branch_requested.emit(i, t))
            self.choices_layout.addWidget(button, number // columns, number % columns)
            self.alternative_buttons.append(button)
        self.choices.show()
        self.layout_changed.emit()

    def _clear_choices(self) -> None:
        for button in self.alternative_buttons:
            self.choices_layout.removeWidget(button)
            button.deleteLater()
        self.alternative_buttons = []
        self.choices.hide()

    def wanted_height(self, width: int) -> int:
        """Legend + chips (up to FLOW_LINES_CAP lines) + details: for the grid's row heights."""
        line = QFontMetrics(self.flow.font()).height() + 2 + CHIP_GAP
        flow = min(self.flow.height_for(width - 4 - self.scroll.verticalScrollBar()
                                        .sizeHint().width()), self.FLOW_LINES_CAP * line)
        height = flow + 2 * self.scroll.frameWidth() + 2
        for widget in (self.legend, self.details, self.choices):
            if not widget.isHidden():
                height += (widget.heightForWidth(width) if widget.hasHeightForWidth()
                           else widget.sizeHint().height()) + 2
        return height
