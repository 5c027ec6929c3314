"""Help ▸ System report: the `workbench doctor` report in a window, with Copy for bug reports.

The checks take a second or more (child processes for llama.cpp, Qt, nvidia-smi and ldconfig,
started at once), so they run in a background call and the dialog says so until the report
arrives; the window stays responsive. PyTorch is read from its files, or asked in a child
process: the window's process loads neither llama.cpp nor torch for a report.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from ..services.doctor import PROBLEM, WARNING, format_report, run_checks
from .job_bridges import BackgroundCall

COLLECTING = "Collecting the system report…"


class SystemReportDialog(QDialog):
    ready = Signal()  # the report (or the reason there is none) is shown

    def __init__(self, parent=None, *, plugins=None):
        super().__init__(parent)
        self.setObjectName("system-report")
        self.setWindowTitle("System report")
        self.resize(860, 560)
        self.checks: list = []
        self.summary = QLabel(COLLECTING, self)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self._job = BackgroundCall(lambda: run_checks(plugins=plugins), self)
        self._job.succeeded.connect(self._show)
        self._job.failed.connect(self._show_failure)
        self._job.start()

    def report(self) -> str:
        return self.text.toPlainText()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.report())

    def _show(self, checks) -> None:
        self.checks = list(checks)
        self.text.setPlainText(format_report(self.checks))
        problems = sum(c.status == PROBLEM for c in self.checks)
        warnings = sum(c.status == WARNING for c in self.checks)
        self.summary.setText("All checks passed." if not problems + warnings else
                             f"{problems} problem(s), {warnings} warning(s): the fix for each "
                             "problem is under it. Copy the report into a bug report as it is.")
        self.copy_button.setEnabled(True)
        self.ready.emit()

    def _show_failure(self, message: str) -> None:
        self.summary.setText(f"The system report could not be collected: {message}")
        self.ready.emit()
