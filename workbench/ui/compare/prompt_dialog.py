"""A cell's "Prompt sent…": the messages the output's prompt held, the text the model read
(its chat template rendered by the model), and the chunks retrieval put in, best first, with
where each came from and how it ranked (services/sent_prompt.py reads them off the GUI thread).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
)

from ...core.retrieved_context import source_name
from ...core.wording import counted
from ...services.sent_prompt import SentPrompt
from ..shown_values import DASH, cell_item

CHUNK_COLUMNS = ["#", "Source", "Score", "BM25 rank", "Dense rank"]
ROLE_COLORS = {"system": "#6a1b9a", "user": "#1565c0", "assistant": "#2e7d32"}


def messages_html(prompt: SentPrompt) -> str:
    parts = []
    for message in prompt.messages:
        color = ROLE_COLORS.get(message.role, "#444")
        text = html.escape(message.content).replace("\n", "<br>")
        parts.append(f'<p><b style="color:{color}">{html.escape(message.role)}</b><br>{text}</p>')
    return "".join(parts)


def heading(prompt: SentPrompt) -> str:
    tokens = counted(prompt.prompt_tokens, "prompt token") if prompt.prompt_tokens else \
        "prompt tokens not recorded"
    if prompt.retrieval is None:
        return f"{prompt.variant_label} · {tokens} · no retrieved context"
    settings = prompt.retrieval
    count = len(prompt.chunks)
    return (f"{prompt.variant_label} · {tokens} · {counted(count, 'chunk')} from "
            f"'{settings.set_name}' ({settings.mode}, k={settings.k})")


class PromptDialog(QDialog):
    def __init__(self, prompt: SentPrompt, title: str, parent=None):
        super().__init__(parent)
        self.prompt = prompt
        self.setWindowTitle(f"Prompt sent — {title}")
        self.resize(900, 640)
        self.heading = QLabel(heading(prompt))
        self.heading.setStyleSheet("font-weight: bold;")
        self.tabs = QTabWidget()
        self.messages = QTextBrowser()
        self.messages.setHtml(messages_html(prompt))
        self.tabs.addTab(self.messages, "Messages")
        self.rendered = QPlainTextEdit(prompt.rendered or prompt.render_note)
        self.rendered.setReadOnly(True)
        self.rendered.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.tabs.addTab(self.rendered, "As the model read it")
        self.chunk_table = QTableWidget(len(prompt.chunks), len(CHUNK_COLUMNS))
        self.chunk_table.setHorizontalHeaderLabels(CHUNK_COLUMNS)
        self.chunk_table.verticalHeader().setVisible(False)
        self.chunk_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.chunk_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.chunk_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for row, chunk in enumerate(prompt.chunks):
            name = source_name(chunk)
            shown = f"{chunk.title} · {name}" if chunk.title and chunk.title != name else name
            cells = [cell_item(str(row + 1), align_right=True), cell_item(shown, chunk.source),
                     cell_item(f"{chunk.score:.3f}", align_right=True),
                     cell_item(DASH if chunk.bm25_rank is None else str(chunk.bm25_rank),
                               align_right=True),
                     cell_item(DASH if chunk.dense_rank is None else str(chunk.dense_rank),
                               align_right=True)]
            for column, cell in enumerate(cells):
                self.chunk_table.setItem(row, column, cell)
        self.chunk_text = QPlainTextEdit()
        self.chunk_text.setReadOnly(True)
        self.chunk_text.setPlaceholderText("Select a chunk to read it whole.")
        chunks = QSplitter(Qt.Orientation.Vertical)
        chunks.addWidget(self.chunk_table)
        chunks.addWidget(self.chunk_text)
        index = self.tabs.addTab(chunks, f"Retrieved chunks ({len(prompt.chunks)})")
        self.tabs.setTabEnabled(index, bool(prompt.chunks))
        self.chunk_table.itemSelectionChanged.connect(self._chunk_chosen)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    def _chunk_chosen(self) -> None:
        rows = {index.row() for index in self.chunk_table.selectedIndexes()}
        if rows:
            chunk = self.prompt.chunks[min(rows)]
            self.chunk_text.setPlainText(f"{chunk.source}\n\n{chunk.text}")
