"""The exact text the model receives, special tokens highlighted."""

from __future__ import annotations

import re

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


class PromptPreview(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText("The rendered prompt appears here once a model is loaded.")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self._highlighter = _SpecialTokens(self.document())

    def show_text(self, text: str) -> None:
        if text != self.toPlainText():
            self.setPlainText(text)
