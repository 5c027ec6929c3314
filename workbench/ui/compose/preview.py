"""The exact text the model receives, special tokens highlighted.

When there is no text to show, the empty view says why (no model yet, no prompt, no test case
to fill the template, a prompt that cannot be rendered), never a reason that is no longer true.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit

SPECIAL = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]|<start_of_turn>|<end_of_turn>")


class _SpecialTokens(QSyntaxHighlighter):
    def __init__(self, document):
        super().__init__(document)
        self.format = QTextCharFormat()
        self.format.setForeground(QColor("#ad1457"))
        self.format.setBackground(QColor("#fce4ec"))
        self.format.setFontWeight(QFont.Weight.Bold)

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        for match in SPECIAL.finditer(text):
            self.setFormat(match.start(), match.end() - match.start(), self.format)


NO_MODEL = "The rendered prompt appears here once a model is loaded."
NO_PROMPT = "Write a system prompt or a user template to see the text the model receives."


def no_case_reason(variables: list[str]) -> str:
    """The template needs values and there is no test case to take them from."""
    names = ", ".join(f"'{name}'" for name in variables)
    them = "it" if len(variables) == 1 else "them"
    return (f"The template uses {names}, and there is no test case yet to fill {them}: add "
            "one under Test cases (Add row) to see the text the model receives.")


def failed_reason(message: str) -> str:
    return f"The prompt cannot be rendered: {message}"


class PromptPreview(QPlainTextEdit):
    reason_shown = Signal(str)  # emptied, saying why (the Tokens tab says the same)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText(NO_MODEL)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self._highlighter = _SpecialTokens(self.document())

    def show_text(self, text: str) -> None:
        if text != self.toPlainText():
            self.setPlainText(text)

    def show_reason(self, reason: str) -> None:
        """No prompt to show: the view is emptied (an old rendering would mislead) and says
        ``reason`` instead."""
        self.setPlaceholderText(reason)
        self.show_text("")
        self.reason_shown.emit(reason)
