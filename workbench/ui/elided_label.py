"""Widgets that never widen their window: a long text (a model's name, its state) shows
what fits with "…", and the whole of it on hover or in the list.

A plain QLabel asks for its whole text as its minimum width; in the model bar or the status
bar that grew the window past the screen (1600 → 1723 px when a model with a long name
loaded), pushing the Retrieval column and the memory readout off it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
)

MIN_CHARS = 12  # shrinks to about this many characters, never less


class ElidedLabel(QLabel):
    """One line of text, elided at its end; the tooltip has the whole text and a detail."""

    def __init__(self, text: str = "", parent=None, preferred_chars: int | None = None):
        """``preferred_chars``: ask for no more than this many characters' width (a bar
        full of other widgets shares its room); it still grows into room left over."""
        super().__init__(parent)
        self._detail = ""
        self._preferred_chars = preferred_chars
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._update_tooltip()

    def set_detail(self, detail: str) -> None:
        """Lines shown under the whole text in the tooltip (e.g. engine settings)."""
        self._detail = detail
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        self.setToolTip("\n".join(part for part in (self.text(), self._detail) if part))

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        height = super().minimumSizeHint().height()
        return QSize(self.fontMetrics().averageCharWidth() * MIN_CHARS, height)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        # The whole text when there is room; a layout short of room gives less.
        width = self.fontMetrics().horizontalAdvance(self.text()) + 4
        if self._preferred_chars is not None:
            width = min(width, self.fontMetrics().averageCharWidth() * self._preferred_chars)
        return QSize(max(width, self.minimumSizeHint().width()), super().sizeHint().height())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              rect.width())
        with QPainter(self) as painter:  # ended here, whoever still holds the object
            self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(),
                                      self.isEnabled(), shown, self.foregroundRole())


class ElidedCombo(QComboBox):
    """A combo box whose chosen name, when longer than the box, shows both its ends with "…"
    between ("gemma-3-270m-it…q4_k_m": a model's family and its quantization); the list
    shows names whole."""

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        with QStylePainter(self) as painter:  # ended here, whoever still holds the object
            painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
            option.currentText = self.fontMetrics().elidedText(
                option.currentText, Qt.TextElideMode.ElideMiddle, field.width())
            painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)
