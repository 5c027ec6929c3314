"""The composer's "Tokens" view: the prompt as the model receives it, token by token.

Each token is a tinted box in its part's colour (system, examples, input, retrieved text, the
template's own markup); neighbours alternate two tints so every boundary shows; control tokens
(<|im_start|>) are bold on pink; hovering a token gives its id and bytes. A second model from
the library can be put beside it: the same text under another tokenizer.

The loaded model's tokens are the composer's measurement (services/context.py's ``measure``,
run off the GUI thread a moment after typing stops, with the selected case's retrieved
chunks): the very tokens the budget bar counts, so the two never disagree. The second model
tokenizes the same text in the model host, off the GUI thread; an answer for a text that has
been edited since is dropped.
"""

from __future__ import annotations

import html
from bisect import bisect_right
from collections.abc import Callable

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...core.prompts import PromptVersion
from ...core.wording import noun_for
from ...services.context import TEMPLATE, ContextBudget, PromptToken, PromptTokens, prompt_tokens
from ..hover_text import HoverTextEdit
from ..job_bridges import BackgroundCall
from ..model_controller import ModelController
from .parts_legend import PART_COLOURS, parts_legend, parts_tooltip

MOST_SHOWN = 6000  # tokens drawn; a longer prompt is counted in full but drawn in part
NO_SECOND = "(none)"
NO_MODEL = "Load a model to see the prompt's tokens."
NO_PROMPT = "Write a prompt to see its tokens."  # for the second model, before a measurement
SPECIAL_BACKGROUNDS, SPECIAL_FOREGROUND = ("#f8bbd0", "#f48fb1"), "#880e4f"


def _tint(colour: str, strength: float) -> QColor:
    """``colour`` over white at ``strength`` (0..1): a background text stays readable on."""
    base = QColor(colour)
    return QColor(*(round(255 + (c - 255) * strength)
                    for c in (base.red(), base.green(), base.blue())))


def shown_text(token: PromptToken) -> str:
    """A token as drawn: line breaks and tabs made visible (and kept, so lines still break);
    bytes that are only part of a character (one emoji over two tokens) as hex."""
    try:
        text = token.piece.decode("utf-8")
    except UnicodeDecodeError:
        return "‹" + " ".join(f"{b:02X}" for b in token.piece) + "›"
    if not text:
        return "∅"  # a token with no text of its own: it must still be seen and hovered
    return text.replace("\t", "→").replace("\r", "␍").replace("\n", "↵\n")


def describe_token(token: PromptToken, position: int) -> str:
    """The hover text: position, id, exact bytes, part."""
    try:
        text = repr(token.piece.decode("utf-8"))
    except UnicodeDecodeError:
        text = "part of a character"
    kind = "control token, " if token.special else ""
    raw = " ".join(f"{b:02X}" for b in token.piece)
    return (f"token {position + 1} · id {token.token_id}\n{text} · bytes {raw or '(none)'}\n"
            f"{kind}{'the template' if token.part == TEMPLATE else token.part}")


class TokenText(HoverTextEdit):
    """The tokens of one prompt, drawn as tinted runs; hover a token for its id."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.tokens: tuple[PromptToken, ...] = ()
        self._starts: list[int] = []  # the document position where each drawn token begins

    def show_tokens(self, tokens: tuple[PromptToken, ...]) -> None:
        """Draw the tokens as one HTML document, set in one call: PySide6 6.12 drops a
        reference to None on every call of a void Qt method (a refcount bug; thousands of
        per-token cursor calls abort the interpreter with "none_dealloc")."""
        self.tokens = tokens
        self._starts = []
        spans, position = [], 0
        for index, token in enumerate(tokens[:MOST_SHOWN]):
            text = shown_text(token)
            self._starts.append(position)
            position += len(text.encode("utf-16-le")) // 2  # Qt counts UTF-16 units
            spans.append(f'<span style="{self._style(token, index)}">{html.escape(text)}</span>')
        if len(tokens) > MOST_SHOWN:
            more = len(tokens) - MOST_SHOWN
            spans.append(f'<span style="color:#757575">  … {more:,} more '
                         f"{noun_for(more, 'token')}</span>")
        self.setHtml(f'<body style="white-space:pre-wrap">{"".join(spans)}</body>')

    @staticmethod
    def _style(token: PromptToken, index: int) -> str:
        if token.special:
            return (f"background-color:{SPECIAL_BACKGROUNDS[index % 2]}; "
                    f"color:{SPECIAL_FOREGROUND}; font-weight:bold")
        # Two tints in turn: a boundary shows even between two tokens of one part.
        tint = _tint(PART_COLOURS[token.part], 0.22 if index % 2 else 0.42).name()
        colour = "; color:#616161" if token.part == TEMPLATE else ""
        return f"background-color:{tint}{colour}"

    def token_index_at(self, point) -> int | None:
        """The token under a viewport point, None between tokens or past the end."""
        offset = QPointF(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        position = self.document().documentLayout().hitTest(
            QPointF(point) + offset, Qt.HitTestAccuracy.ExactHit)
        if position < 0 or not self._starts:
            return None
        index = bisect_right(self._starts, position) - 1
        return index if 0 <= index < min(len(self.tokens), MOST_SHOWN) else None

    def tooltip_at(self, point) -> str | None:
        index = self.token_index_at(point)
        return None if index is None else describe_token(self.tokens[index], index)



def counts_legend(result: PromptTokens) -> str:
    """"model: 42 tokens, 6 control" over the parts' legend (the context bar's, the same
    counts for the loaded model)."""
    special = (f', <span style="color:{SPECIAL_FOREGROUND}"><b>{result.specials:,}</b> '
               "control</span>") if result.specials else ""
    return (f"<b>{html.escape(result.model)}</b>: <b>{result.total:,}</b> "
            f"{noun_for(result.total, 'token')}{special}<br>{parts_legend(result.counts)}")


class TokensPane(QWidget):
    """One model's tokenization: the counts above, the tokens below."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Room for three lines: two panes side by side keep their tokens level.
        self.header.setMinimumHeight(3 * self.header.fontMetrics().lineSpacing())
        self.header.setToolTip(parts_tooltip())
        self.text = TokenText()
        layout.addWidget(self.header)
        layout.addWidget(self.text, 1)
        self.result: PromptTokens | None = None

    def show_result(self, result: PromptTokens) -> None:
        self.result = result
        self.header.setStyleSheet("")
        self.header.setText(counts_legend(result))
        self.text.show_tokens(result.tokens)

    def show_message(self, text: str, error: bool = False) -> None:
        self.result = None
        self.header.setStyleSheet("color:#c62828" if error else "color:#616161")
        self.header.setText(html.escape(text))
        self.text.show_tokens(())


class PromptTokensPanel(QWidget):
    """The loaded model's tokens (the composer's measurement, ``show_budget``) and, when
    chosen, a second model's tokens of the same text beside them."""

    shown = Signal(int, object)  # side (0: the loaded model, 1: the second), PromptTokens

    def __init__(self, models: ModelController,
                 source: Callable[[], tuple[PromptVersion, dict[str, str]]],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.models = models
        # The prompt and the selected case with its retrieved context, read when the second
        # model tokenizes (after a measurement, so the context is the measured one).
        self.source = source
        self.second_host = None
        self._second_owned = False
        self._second_name: str | None = None
        self._serial = 0  # the second model's newest request; answers to older ones are dropped
        self._measured: ContextBudget | None = None  # the newest measurement, drawn when shown
        self._stale = False  # measured while hidden: draw when shown
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Beside it, the same text under:"))
        self.second_combo = QComboBox()
        self.second_combo.addItem(NO_SECOND)
        self.second_combo.setMinimumWidth(200)
        self.second_combo.setToolTip("A second model's tokenizer: its tokens and counts for "
                                     "the same prompt (loaded for tokenizing only)")
        row.addWidget(self.second_combo)
        row.addStretch(1)
        layout.addLayout(row)
        self.panes = (TokensPane(), TokensPane())
        self.sides = QSplitter(Qt.Orientation.Horizontal)
        for pane in self.panes:
            self.sides.addWidget(pane)
        self.panes[1].hide()
        layout.addWidget(self.sides, 1)
        self.panes[0].show_message(NO_MODEL)
        self.second_combo.currentTextChanged.connect(self._choose_second)

    # -- the second model ----------------------------------------------------------------

    def set_models(self, names: list[str]) -> None:
        """The library's models to choose the second from (the choice is kept when listed)."""
        current = self.second_combo.currentText()
        self.second_combo.blockSignals(True)
        self.second_combo.clear()
        self.second_combo.addItems([NO_SECOND, *names])
        if current in names:
            self.second_combo.setCurrentText(current)
        self.second_combo.blockSignals(False)
        if self.second_combo.currentText() != current:
            self._choose_second(self.second_combo.currentText())

    def _choose_second(self, name: str) -> None:
        self._release_second()
        if not name or name == NO_SECOND:
            self.panes[1].hide()
            return
        self._second_name = name
        pane = self.panes[1]
        pane.show()
        pane.show_message(f"Loading {name}'s tokenizer…")
        service, primary = self.models.service, self.models.host

        def load():
            # The loaded model itself is not loaded twice. Otherwise only the tokenizer and
            # the chat template are used: a small context, one sequence, nothing on the GPU.
            if primary is not None and primary.settings.path == str(service.resolve(name)):
                return primary, False
            return service.load_named(name, n_ctx=512, n_parallel=1, n_gpu_layers=0), True

        job = BackgroundCall(load, self)
        job.succeeded.connect(lambda loaded: self._second_loaded(name, *loaded))
        job.failed.connect(lambda message: self._second_failed(name, message))
        self._keep(job)

    def _second_loaded(self, name: str, host, owned: bool) -> None:
        """``owned``: loaded for this view (and unloaded with it), not the window's model."""
        if name != self._second_name:  # chosen and then changed while it loaded
            if owned:
                self._unload(host)
            return
        self.second_host, self._second_owned = host, owned
        self.tokenize_second()

    def _second_failed(self, name: str, message: str) -> None:
        if name == self._second_name:
            self.panes[1].show_message(f"{name}: {message}", error=True)

    def _release_second(self) -> None:
        host, self.second_host, self._second_name = self.second_host, None, None
        if host is not None and self._second_owned:
            self._unload(host)

    def _unload(self, host) -> None:
        service = self.models.service
        self._keep(BackgroundCall(lambda: service.unload(host), self))

    @staticmethod
    def _keep(job: BackgroundCall) -> None:
        job.start()  # a started call keeps itself alive until it has answered (ui/job_bridges.py)

    # -- the measured prompt -------------------------------------------------------------

    def schedule(self) -> None:
        """The prompt changed: its measurement is on its way (``show_budget``), or the
        reason there is none (``show_reason``); the second model's answer still on its way is
        for another text."""
        self._serial += 1

    def show_budget(self, budget: ContextBudget | None) -> None:
        """The composer measured the prompt: its tokens are the loaded model's, drawn now or
        when the view is shown. None: it could not, and ``show_reason`` says why."""
        if budget is None:
            return
        self._measured, self._stale = budget, True
        if self.isVisible():
            self._show_measured()

    def show_reason(self, reason: str) -> None:
        """No prompt to show (no model, no prompt, no case to fill it, a template error): the
        text view's reason, here too, instead of tokens that are no longer the prompt."""
        self._measured, self._stale = None, False
        self._serial += 1
        for pane in self.panes:
            pane.show_message(reason)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.list_models()
        if self._stale:
            self._show_measured()

    def _show_measured(self) -> None:
        self._stale = False
        if self._measured is not None:
            self.panes[0].show_result(self._measured.tokens)
            self.shown.emit(0, self._measured.tokens)
            self.tokenize_second()

    def list_models(self) -> None:
        """Refresh the second model's choices from the library (listing scans folders: in
        the background, each time the view is shown)."""
        service = self.models.service
        job = BackgroundCall(lambda: [m.name for m in service.list_models()], self)
        job.succeeded.connect(self.set_models)
        self._keep(job)

    # -- the second model's tokens ---------------------------------------------------------

    def tokenize_second(self) -> None:
        """Tokenize the prompt as it is now under the second model, if one is chosen."""
        self._serial += 1
        serial, host = self._serial, self.second_host
        if host is None:
            return
        version, variables = self.source()
        if not has_text(version):
            self.panes[1].show_message(NO_PROMPT)
            return
        job = BackgroundCall(lambda: prompt_tokens(host, version, variables), self)
        job.succeeded.connect(lambda result: self._answered(serial, result))
        job.failed.connect(lambda message: self._failed(serial, message))
        self._keep(job)

    def _answered(self, serial: int, result: PromptTokens) -> None:
        if serial != self._serial:
            return  # for a text edited since: the newer answer is on its way
        self.panes[1].show_result(result)
        self.shown.emit(1, result)

    def _failed(self, serial: int, message: str) -> None:
        if serial == self._serial:
            self.panes[1].show_message(message, error=True)


def has_text(version: PromptVersion) -> bool:
    """Whether there is a prompt to show: a system prompt, examples or a user template."""
    return bool(version.system_prompt or version.examples or version.user_template)
