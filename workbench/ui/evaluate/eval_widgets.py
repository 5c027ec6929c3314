"""The Evaluation tab's small building blocks: read-only tables sized to their rows, wrapped
notes, titled boxes, and the scrolling paragraphs of the comparison sentences."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGroupBox,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..shown_values import DASH


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def span(low: float, high: float) -> str:
    return f"{low:.0%}–{high:.0%}"


def read_only_table(columns: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setDefaultSectionSize(24)
    return table


def note_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Sentences(QTextBrowser):
    """Paragraphs of plain text, one per pair of variants: as tall as they need up to
    ``MOST_HEIGHT``, then scrolling (five variants make ten pairs)."""

    MOST_HEIGHT = 220

    def __init__(self):
        super().__init__()
        self.paragraphs: list[str] = []
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.viewport().setAutoFillBackground(False)

    def show_paragraphs(self, paragraphs: list[str]) -> None:
        self.paragraphs = list(paragraphs)
        self.setHtml("".join(f"<p>{html.escape(text)}</p>" for text in self.paragraphs))
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        document = self.document().clone()
        document.setTextWidth(max(self.viewport().width(), 300))
        height = int(document.size().height()) + 2 * self.frameWidth() + 4
        return QSize(super().sizeHint().width(), min(height, self.MOST_HEIGHT))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(200, self.sizeHint().height())  # a short window scrolls the page instead

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # a new width wraps the text onto more or fewer lines


def titled_box(title: str, *parts: QWidget) -> QGroupBox:
    """A titled group of widgets stacked top to bottom."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for part in parts:
        layout.addWidget(part)
    return box


def stacked_column(*widgets: QWidget) -> QWidget:
    """Widgets stacked at the top; spare height stays below them, not inside the tables."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    return column


def fit_rows(table: QTableWidget, most: int = 8) -> None:
    """Height for the header and up to ``most`` rows; more rows scroll inside the table."""
    rows = min(table.rowCount(), most)
    height = (table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
              + sum(table.rowHeight(row) for row in range(rows)))
    if table.rowCount() > most:
        height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height)
