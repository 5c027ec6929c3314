"""The main window for now: load a model and chat with it, streaming.

The composer and comparison views replace the centre of this window in their own issue; the
parts here (background load, streaming job, banner, status bar) are what they build on.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..core.generation import DoneEvent, GenerationRequest
from ..core.messages import ChatMessage
from ..core.model_info import ModelMetadata, human_count
from ..core.sampling import SamplingSettings
from ..engine.host.client import ModelHost
from ..services.models import ModelService
from .banner import Banner
from .jobs import BackgroundCall, StreamJob

WINDOW_TITLE = "Prompt Workbench"


class ChatWindow(QMainWindow):
    model_loaded = Signal(object)  # ModelMetadata
    reply_finished = Signal(str)  # the reply text (also on failure: the partial text)

    def __init__(self, service: ModelService, model: str | None = None):
        super().__init__()
        self.service = service
        self.model_name = model
        self.host: ModelHost | None = None
        self.history: list[ChatMessage] = []
        self._job: StreamJob | None = None
        self._reply = ""
        self._background: list[object] = []  # keep jobs alive until they report
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(1000, 720)
        self._build()
        self._set_busy(False)

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
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
        self.transcript.setOpenExternalLinks(False)
        self.transcript.setPlaceholderText("The conversation appears here.")
        layout.addWidget(self.transcript, 1)

        input_row = QHBoxLayout()
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Type a message — Ctrl+Enter sends")
        self.input.setFixedHeight(90)
        input_row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        input_row.addLayout(buttons)
        layout.addLayout(input_row)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.send)

        self.setCentralWidget(central)
        self.model_status = QLabel("No model")
        self.speed_status = QLabel("")
        self.statusBar().addWidget(self.model_status, 1)
        self.statusBar().addPermanentWidget(self.speed_status)

    # -- model ---------------------------------------------------------------------------

    def load_model(self) -> None:
        self.model_status.setText("Loading model…")
        self.send_button.setEnabled(False)
        name = self.model_name
        job = BackgroundCall(lambda: self.service.load_named(name), self)
        job.succeeded.connect(self._on_loaded)
        job.failed.connect(self._on_load_failed)
        self._background.append(job)
        job.start()

    def _on_loaded(self, host: ModelHost) -> None:
        self.host = host
        meta: ModelMetadata = host.metadata
        offload = (f"GPU layers {meta.gpu_layers_offloaded}/{meta.n_layers + 1}"
                   if meta.offload_supported else "CPU only (no GPU offload in this llama.cpp)")
        self.model_status.setText(
            f"{Path(meta.path).stem} · {human_count(meta.parameter_count)} params · {meta.quantization} · "
            f"context {meta.n_ctx:,} · {offload}"
        )
        self._set_busy(False)
        self.model_loaded.emit(meta)

    def _on_load_failed(self, message: str) -> None:
        self.model_status.setText("No model loaded")
        self.banner.show_message(message)
        self._set_busy(False)

    # -- chat ----------------------------------------------------------------------------

    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self._job is not None or self.host is None:
            return
        self.banner.hide()
        self.history.append(ChatMessage("user", text))
        self.input.clear()
        messages = list(self.history)
        system = self.system_edit.text().strip()
        if system:
            messages.insert(0, ChatMessage("system", system))
        request = GenerationRequest(messages=tuple(messages),
                                    sampling=SamplingSettings(max_tokens=512))
        self._append_turn("You", text)
        self._append_turn("Model", "")
        self._reply = ""
        host = self.host
        self._job = StreamJob(lambda: host.generate(request), self)
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
        self.speed_status.setText(
            f"{stats.completion_tokens} tokens · {stats.tokens_per_second:.1f} tok/s · "
            f"first token {stats.time_to_first_token_s * 1000:.0f} ms · {stats.finish_reason}"
        )
        self._end_reply(done.text)

    def _on_failed(self, message: str, partial: str) -> None:
        if partial:
            # Keep what arrived: the user can read it and the next turn can build on it.
            self.history.append(ChatMessage("assistant", partial))
        self.banner.show_message(message)
        self._end_reply(partial)

    def _end_reply(self, text: str) -> None:
        self._job = None
        self._set_busy(False)
        self.reply_finished.emit(text)

    def _append_turn(self, who: str, text: str) -> None:
        colour = "#1f5f99" if who == "You" else "#2e7d32"
        self.transcript.append(
            f'<p style="margin-top:8px"><b style="color:{colour}">{who}</b></p>'
        )
        if text:
            self.transcript.append(html.escape(text).replace("\n", "<br>"))
        else:
            self.transcript.append("")

    def _set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy and self.host is not None)
        self.stop_button.setEnabled(busy)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.stop()
        super().closeEvent(event)
