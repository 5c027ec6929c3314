"""One long retrieval job at a time (add files, re-chunk, re-embed) as a strip: what it is
doing, a progress bar, Cancel.

The strip makes no job: a service's ``start_…`` call does (it runs the work off the GUI thread
and returns the ``JobState``), given the watcher of the window's one ``JobBridge`` so that the
job's progress and end reach the GUI thread from its first event on.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ...core.job_state import JobProgress, JobState, JobWatcher
from ..job_bridges import JobBridge


class JobStrip(QWidget):
    ended = Signal(object)  # the JobState: status (done / cancelled / failed), outcome, error

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("")
        self.label.setMaximumWidth(520)  # a long file name must not push Cancel away
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancel)
        self.state: JobState | None = None
        self.hide()

    @property
    def running(self) -> bool:
        return self.state is not None and not self.state.done.is_set()

    def start(self, start: Callable[[JobWatcher], JobState]) -> JobState:
        """Show the job ``start(watcher)`` starts and returns (a service's ``start_…``);
        ``ended`` tells how it went."""
        bridge = JobBridge(self)  # events are queued: none is handled before this returns
        bridge.progress.connect(self._on_progress)
        bridge.finished.connect(self._on_finished)
        bridge.finished.connect(bridge.deleteLater)
        state = self.state = start(bridge.watcher)
        self.label.setText(f"{state.title}…")
        self.bar.setRange(0, 0)  # busy until the first progress says how much there is
        self.cancel_button.setEnabled(True)
        self.show()
        return state

    def cancel(self) -> None:
        if self.running:
            self.cancel_button.setEnabled(False)
            self.label.setText(f"{self.state.title}: cancelling…")
            self.state.cancel()

    def _on_progress(self, progress: JobProgress) -> None:
        if self.state is not None and self.state.cancelled:
            return  # "cancelling…" stays until it has stopped
        if progress.total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(1.0, progress.done / progress.total)))
            # A percentage: the services count bytes while reading, chunks while embedding.
            self.bar.setFormat("%p%")
        detail = f": {progress.message}" if progress.message else ""
        self.label.setText(f"{self.state.title if self.state else ''}{detail}")

    def _on_finished(self, state: JobState) -> None:
        self.hide()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.ended.emit(state)
