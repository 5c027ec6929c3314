"""A download as a job (the service's JobState bound by the window's JobBridge) and as a row:
progress bar, bytes, speed, ETA, Cancel; it ends done, failed or cancelled.

``LibraryService.start_pull`` runs the pull in its own thread; progress arrives as a queued
signal, so the GUI thread only updates widgets (the meter already throttles to ~10/s).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.job_state import CANCELLED, DONE, JobProgress, JobState
from ...core.model_info import human_bytes
from ...services.library import LibraryService
from ..job_bridges import JobBridge


def describe_progress(progress: JobProgress) -> str:
    """``44.2 MiB of 93.8 MiB · downloading · 1.2 MiB/s · 00:39 left``"""
    text = f"{human_bytes(int(progress.done))} of {human_bytes(int(progress.total))}"
    return f"{text} · {progress.message}" if progress.message else text


class DownloadJob(QObject):
    """One download as the window sees it: the job ``LibraryService.start_pull`` creates,
    bound by a ``JobBridge`` (its progress, the library model, or how it ended).
    Each start is a new job; the bytes a cancelled or failed one received are kept, so a
    restart resumes."""

    progress = Signal(object)  # JobProgress
    succeeded = Signal(object)  # LibraryModel
    failed = Signal(str)  # why
    cancelled = Signal()

    def __init__(self, service: LibraryService, repo: str, filename: str,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.service, self.repo, self.filename = service, repo, filename
        self.state: JobState | None = None

    def start(self) -> DownloadJob:
        bridge = JobBridge(self)
        bridge.progress.connect(self.progress.emit)
        bridge.finished.connect(self._ended)
        bridge.finished.connect(bridge.deleteLater)
        self.state = self.service.start_pull(self.repo, self.filename, watcher=bridge.watcher)
        return self

    def cancel(self) -> None:
        if self.state is not None:
            self.state.cancel()

    def _ended(self, state: JobState) -> None:
        if state.status == DONE:
            self.succeeded.emit(state.outcome)
        elif state.status == CANCELLED:
            self.cancelled.emit()
        else:
            self.failed.emit(state.error or "The download failed.")


class DownloadRow(QWidget):
    """One download: title, bar, detail line; Cancel while running, Retry after a failure."""

    finished = Signal(object)  # LibraryModel

    def __init__(self, job: DownloadJob, parent: QWidget | None = None):
        super().__init__(parent)
        self.job = job
        self.title = QLabel(f"{job.repo} / {job.filename}")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.detail = QLabel("Starting…")
        self.detail.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.retry_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button.clicked.connect(self.retry)
        buttons = QHBoxLayout()
        buttons.addWidget(self.bar, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.detail)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_done)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.state = "running"

    def start(self) -> None:
        self.state = "running"
        self.cancel_button.setEnabled(True)
        self.retry_button.hide()
        self.detail.setStyleSheet("")
        self.detail.setText("Starting…")
        self.job.start()

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.detail.setText("Cancelling…")
        self.job.cancel()

    def retry(self) -> None:
        self.start()  # the bytes already received are kept: the download resumes

    def _on_progress(self, progress: JobProgress) -> None:
        self.bar.setValue(int((progress.fraction or 0.0) * 1000))
        self.detail.setText(describe_progress(progress))

    def _on_done(self, model) -> None:
        self.state = "done"
        self.bar.setValue(1000)
        self.cancel_button.hide()
        self.detail.setText(f"Done: {model.name} is in the library ({model.path}).")
        self.finished.emit(model)

    def _on_failed(self, message: str) -> None:
        self._ended("failed", "Retry", message)
        self.detail.setStyleSheet("color:#611a15;")

    def _on_cancelled(self) -> None:
        self._ended("cancelled", "Resume", "Cancelled: the bytes received so far are kept; "
                                           "Resume continues where it stopped.")

    def _ended(self, state: str, retry: str, message: str) -> None:
        self.state = state
        self.cancel_button.setEnabled(False)
        self.retry_button.show()
        self.retry_button.setText(retry)
        self.detail.setStyleSheet("")
        self.detail.setText(message)
