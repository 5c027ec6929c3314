"""A read-only text view whose tooltip depends on what lies under the pointer (a token, a
chunk): the subclass says what via ``tooltip_at(point)``, this class shows or hides it."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QTextEdit, QToolTip


class HoverTextEdit(QTextEdit):
    def tooltip_at(self, point) -> str | None:
        """The tooltip for a viewport point; None: none there."""
        return None

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)
