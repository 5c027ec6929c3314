"""Free chat with the loaded model, streaming: the quickest way to get a feel for a model.

Each reply can be seen as tokens (the token inspector): the chat asks for the top 5
alternatives of every token, so the view shows what else the model weighed."""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...core.generation import DoneEvent, GenerationRequest, GenerationStats, TokenEvent
from ...core.messages import ChatMessage
from ...core.sampling import SamplingSettings
from ...core.tokens import TokenTrace
from ...core.wording import counted, rate
from ..banner import Banner
from ..job_bridges import StreamJob
from ..model_controller import ModelController
from .token_view import TokenView, trace_from_events

CHAT_TOP_K = 5  # alternatives captured per token, for the replies' token view


class RecordingGeneration:
    """A generation that keeps its token events as they pass (for the reply's token view)."""

    def __init__(self, generation, events: list[TokenEvent]):
        self._generation = generation
        self.events = events

    def __iter__(self):
        for event in self._generation:
            if isinstance(event, TokenEvent):
                self.events.append(event)
            yield event

    def cancel(self) -> None:
        self._generation.cancel()

    @property
    def text(self) -> str:
        return self._generation.text


class ChatPanel(QWidget):
    reply_finished = Signal(str)  # the reply (on failure: the partial text)

    def __init__(self, models: ModelController, parent: QWidget | None = None):
        super().__init__(parent)
        self.models = models
        self.history: list[ChatMessage] = []
        self._job: StreamJob | None = None
        self._reply = ""
        self._events: list[TokenEvent] = []  # the reply being generated, token by token
        self.reply_traces: list[TokenTrace] = []  # each finished reply's tokens, in order
        self._build()
        models.loaded.connect(lambda _meta: self._set_busy(False))
        self._set_busy(False)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.banner = Banner()
        layout.addWidget(self.banner)
        system_row = QHBoxLayout()
        system_row.addWidget(QLabel("System prompt:"))
        self.system_edit = QLineEdit()
        self.system_edit.setPlaceholderText("Optional instructions for the model")
        system_row.addWidget(self.system_edit, 1)
        self.clear_button = QPushButton("New chat")
        self.clear_button.clicked.connect(self.clear_chat)
        system_row.addWidget(self.clear_button)
        layout.addLayout(system_row)
        self.transcript = QTextBrowser()
        self.transcript.setPlaceholderText("The conversation appears here.")
        self.transcript.setOpenLinks(False)  # "tokens" links switch the view, not the page
        self.transcript.anchorClicked.connect(self._on_link)
        self.pages = QStackedWidget()  # the conversation, or one reply as tokens
        self.pages.addWidget(self.transcript)
        token_page = QWidget()
        token_layout = QVBoxLayout(token_page)
        token_layout.setContentsMargins(0, 0, 0, 0)
        self.token_title = QLabel()
        token_layout.addWidget(self.token_title)
        self.token_view = TokenView(branchable=False)
        token_layout.addWidget(self.token_view, 1)
        self.pages.addWidget(token_page)
        layout.addWidget(self.pages, 1)
        input_row = QHBoxLayout()
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Type a message — Ctrl+Enter sends")
        self.input.setFixedHeight(80)
        input_row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.tokens_button = QPushButton("Tokens", checkable=True)
        self.tokens_button.setToolTip("Show the latest reply as tokens coloured by probability "
                                      "(hover a token for the alternatives)")
        self.tokens_button.toggled.connect(self._on_tokens_toggled)
        self.tokens_button.setEnabled(False)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.tokens_button)
        buttons.addStretch(1)
        input_row.addLayout(buttons)
        layout.addLayout(input_row)
        self.speed_status = QLabel("")
        layout.addWidget(self.speed_status)
        QShortcut(QKeySequence("Ctrl+Return"), self.input, activated=self.send)

    def send(self) -> None:
        text = self.input.toPlainText().strip()
        host = self.models.host
        if not text or self._job is not None or host is None:
            return
        self.banner.hide()
        self.history.append(ChatMessage("user", text))
        self.input.clear()
        messages = list(self.history)
        system = self.system_edit.text().strip()
        if system:
            messages.insert(0, ChatMessage("system", system))
        request = GenerationRequest(messages=tuple(messages),
                                    sampling=SamplingSettings(max_tokens=512,
                                                              logprobs=CHAT_TOP_K))
        self.tokens_button.setChecked(False)  # the reply streams into the conversation
        self._append_turn("You", text)
        self._append_turn("Model", "")
        self._reply = ""
        events = self._events = []
        self._job = StreamJob(lambda: RecordingGeneration(host.generate(request), events), self)
        self._job.token.connect(self._on_token)
        self._job.finished.connect(self._on_finished)
        self._job.failed.connect(self._on_failed)
        self._set_busy(True)
        self._job.start()

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def clear_chat(self) -> None:
        self.stop()
        self.history.clear()
        self.transcript.clear()
        self.reply_traces.clear()
        self.tokens_button.setChecked(False)
        self.tokens_button.setEnabled(False)

    def _on_token(self, piece: str) -> None:
        self._reply += piece
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.transcript.setTextCursor(cursor)
        self.transcript.ensureCursorVisible()

    def _on_finished(self, done: DoneEvent) -> None:
        stats = done.stats
        self.history.append(ChatMessage("assistant", done.text))
        self.speed_status.setText(figures_line(stats))
        self._end_reply(done.text)

    def _on_failed(self, message: str, partial: str) -> None:
        if partial:
            self.history.append(ChatMessage("assistant", partial))  # keep what arrived
        self.banner.show_message(message)
        self._end_reply(partial)

    def _end_reply(self, text: str) -> None:
        self._job = None
        if self._events:
            self.reply_traces.append(trace_from_events(self._events))
            number = len(self.reply_traces)
            self.transcript.append(f'<a href="tokens:{number}" style="font-size:8pt">'
                                   f"show reply {number} as tokens</a>")
        self.token_view.set_trace(None)  # Tokens shows the latest reply next
        self.tokens_button.setEnabled(bool(self.reply_traces))
        self._set_busy(False)
        self.reply_finished.emit(text)

    # -- replies as tokens ---------------------------------------------------------------

    def _on_tokens_toggled(self, on: bool) -> None:
        if on and self.reply_traces:
            if self.token_view.trace is None:
                self.show_reply_tokens(len(self.reply_traces))
            self.pages.setCurrentIndex(1)
        else:
            self.pages.setCurrentWidget(self.transcript)

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() == "tokens" and url.path().isdigit():
            self.show_reply_tokens(int(url.path()))

    def show_reply_tokens(self, number: int) -> None:
        """Reply ``number`` (1 = the first) as tokens, in place of the conversation."""
        trace = self.reply_traces[number - 1]
        self.token_view.set_trace(trace)
        self.token_title.setText(f"Reply {number} as tokens ({len(trace.tokens)}) — "
                                 "click Tokens again for the conversation")
        if not self.tokens_button.isChecked():
            self.tokens_button.setChecked(True)
        self.pages.setCurrentIndex(1)

    def _append_turn(self, who: str, text: str) -> None:
        colour = "#1f5f99" if who == "You" else "#2e7d32"
        self.transcript.append(f'<p style="margin-top:8px"><b style="color:{colour}">{who}</b></p>')
        self.transcript.append(html.escape(text).replace("\n", "<br>") if text else "")

    def _set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy and self.models.host is not None)
        self.stop_button.setEnabled(busy)


def figures_line(stats: GenerationStats) -> str:
    """'393 tokens · 61.2 tok/s · first token 84 ms · cancelled'. A figure with nothing to
    measure is left out, never shown as 0: no rate under two tokens, no latency without a
    first token."""
    parts = [counted(stats.completion_tokens, "token")]
    if stats.tokens_per_second > 0:
        parts.append(rate(stats.tokens_per_second))
    if stats.completion_tokens > 0:
        parts.append(f"first token {stats.time_to_first_token_s * 1000:.0f} ms")
    parts.append(stats.finish_reason)
    return " · ".join(parts)
