"""A bar showing how the prompt fills the context window: system, examples, input, retrieved
chunks, answer; retrieved chunks that do not fit are named under it."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...services.context import ContextBudget

PARTS = (("system", "#5c6bc0"), ("examples", "#26a69a"), ("input", "#ffa726"),
         ("retrieved", "#ab47bc"), ("answer", "#bdbdbd"))


class _Bar(QWidget):
    def __init__(self):
        super().__init__()
        self.budget: ContextBudget | None = None
        self.setMinimumHeight(14)
        self.setMaximumHeight(14)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#f0f0f0"))
        if self.budget is None or self.budget.n_ctx <= 0:
            return
        width, x = float(self.width()), 0.0
        for name, colour in PARTS:
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
        self.warning = QLabel("")
        self.warning.setStyleSheet("color:#c62828; font-weight:bold")
        self.warning.setWordWrap(True)
        row.addWidget(self.label)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.warning)
        self.warning.hide()

    def show_budget(self, budget: ContextBudget) -> None:
        self.bar.budget = budget
        self.bar.update()
        legend = " · ".join(
            f'<span style="color:{colour}">■</span> {name} {getattr(budget, name):,}'
            for name, colour in PARTS)
        self.label.setText(f"{budget.prompt:,} prompt tokens of {budget.n_ctx:,} — {legend} · "
                           f"free {max(0, budget.room_left):,}")
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
