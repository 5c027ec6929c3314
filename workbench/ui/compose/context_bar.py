"""A bar showing how the prompt fills the context window: its parts (system, examples, input,
retrieved chunks, the template's markup — the Tokens tab's counts), then the answer's room;
retrieved chunks that do not fit are named under it."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core.wording import counted
from ...services.context import PARTS, ContextBudget
from .parts_legend import ANSWER_COLOUR, PART_COLOURS, parts_legend, parts_tooltip, swatch

# The bar's segments in order: the prompt's parts, then the room kept for the answer.
SEGMENTS = tuple((part, PART_COLOURS[part]) for part in PARTS) + (("answer", ANSWER_COLOUR),)
ROOM_EXPLAINED = ("answer: the tokens kept for the answer (Answer tokens)\n"
                  "free: what is left of the context window after both")


class _Bar(QWidget):
    def __init__(self):
        super().__init__()
        self.budget: ContextBudget | None = None
        self.setMinimumHeight(14)
        self.setMaximumHeight(14)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        with QPainter(self) as painter:  # ended here, whoever still holds the object
            painter.fillRect(self.rect(), QColor("#f0f0f0"))
            if self.budget is not None and self.budget.n_ctx > 0:
                self._paint_parts(painter)

    def _paint_parts(self, painter: QPainter) -> None:
        width, x = float(self.width()), 0.0
        for name, colour in SEGMENTS:
            size = getattr(self.budget, name)
            share = min(size / self.budget.n_ctx, max(0.0, 1 - x / width)) * width
            painter.fillRect(QRectF(x, 0, share, self.height()), QColor(colour))
            x += share
        if not self.budget.fits or self.budget.room_left < 0:
            painter.setPen(QColor("#c62828"))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))


class ContextBar(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = _Bar()
        layout.addWidget(self.bar)
        row = QHBoxLayout()
        self.label = QLabel("Load a model to count tokens.")
        self.label.setToolTip(parts_tooltip(ROOM_EXPLAINED))
        self.label.setWordWrap(True)  # every part is listed: a narrow column wraps the line
        self.warning = QLabel("")
        self.warning.setStyleSheet("color:#c62828; font-weight:bold")
        self.warning.setWordWrap(True)
        row.addWidget(self.label, 1)
        layout.addLayout(row)
        layout.addWidget(self.warning)
        self.warning.hide()

    def show_budget(self, budget: ContextBudget) -> None:
        self.bar.budget = budget
        self.bar.update()
        self.label.setText(
            f"{counted(budget.prompt, 'prompt token')} of {budget.n_ctx:,} — "
            f"{parts_legend(budget.counts)} · {swatch(ANSWER_COLOUR)}&nbsp;answer "
            f"{budget.answer:,} · free {max(0, budget.room_left):,}")
        # Chunks past the window stay in the prompt (what runs is what is shown): each named.
        notes = [budget.warning] if budget.warning else []
        notes += [note[0].upper() + note[1:] + "." for note in budget.split.notes()]
        self.warning.setText("\n".join(notes))
        self.warning.setVisible(bool(notes))

    def show_message(self, text: str, error: bool = False) -> None:
        self.bar.budget = None
        self.bar.update()
        self.label.setText("" if error else text)
        self.warning.setText(text if error else "")
        self.warning.setVisible(error)
