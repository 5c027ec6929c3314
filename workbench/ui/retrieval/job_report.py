"""What the Documents tab's last long job did: one line (done, stopped or failed, with the
report's summary), then the files it skipped with their reasons and those it added with a
notice. It stays until the next job starts, not in a banner that goes away."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ...core.job_state import CANCELLED, JobState
from ...core.retrieval import IndexReport

MOST_LINES_SHOWN = 5  # the list grows to five reasons, then scrolls: the documents keep the room


class JobReport(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.skipped_label = QLabel("Skipped files:")
        self.skipped = QListWidget()
        self.skipped.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.summary, self.skipped_label, self.skipped):
            column.addWidget(widget)
        self.show_outcome(None)

    def clear(self) -> None:
        self.show_outcome(None)

    def show_failure(self, state: JobState) -> None:
        self.show_outcome(None)
        self.summary.setStyleSheet("color:#611a15;")
        self.summary.setText(f"{state.title} failed: {state.error}")
        self._show_parts(problems=0)

    def show_outcome(self, state: JobState | None) -> None:
        """``state``: a job that ended done or cancelled (None: nothing to report)."""
        report = state.outcome if state is not None and isinstance(state.outcome,
                                                                     IndexReport) else None
        self.summary.setStyleSheet("")
        self.skipped.clear()
        if state is None:
            self.summary.setText("")
        else:
            done = "stopped; what was done is kept" if state.status == CANCELLED else "done"
            self.summary.setText(f"{state.title} {done}"
                                 + (f": {report.summary()}" if report else "."))
        problems = report.skipped if report else []
        notices = report.notices if report else []
        for problem in problems:
            self._add_line(f"{Path(problem.path).name}: {problem.reason}", str(problem))
        for notice in notices:  # added, with what its reader warned of
            self._add_line(f"{Path(notice.path).name} (added): {notice.reason}", str(notice))
        self.skipped_label.setText("Skipped files and notices:" if notices and problems
                                   else "Added with notices:" if notices else "Skipped files:")
        # As tall as its reasons, so the documents keep the room.
        line = self.skipped.fontMetrics().height() + 6
        lines = len(problems) + len(notices)
        self.skipped.setFixedHeight(min(MOST_LINES_SHOWN, max(1, lines)) * line + 6)
        self._show_parts(lines)

    def _add_line(self, text: str, tip: str) -> None:
        item = QListWidgetItem(text)
        item.setToolTip(tip)
        self.skipped.addItem(item)

    def _show_parts(self, problems: int) -> None:
        self.summary.setVisible(bool(self.summary.text()))
        self.skipped_label.setVisible(bool(problems))
        self.skipped.setVisible(bool(problems))
        # Empty, the report takes no room (nor the spacing around it) in the panel's column;
        # before it has a parent, showing it would open it as a window of its own.
        if self.parent() is not None or not (self.summary.text() or problems):
            self.setVisible(bool(self.summary.text() or problems))
