"""The session's runs above the grid: choosing one opens it, with its ratings and scores."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QWidget

from ...core.runs import Run
from ..shown_values import local_time


def describe_run(run: Run, status: str | None = None) -> str:
    """``status``: the status as the services say it ('interrupted (12 of 31 cells)')."""
    labels = ", ".join(v.label or f"variant {i + 1}" for i, v in enumerate(run.variants))
    return f"{local_time(run.created_at):%Y-%m-%d %H:%M:%S} · {labels or 'no variants'} · " \
           f"{status or run.status.value}"


class RunList(QWidget):
    """A combo of runs, newest first. ``run_chosen`` fires only when the user picks one."""

    run_chosen = Signal(str)  # run id

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs: list[Run] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Runs:"))
        self.combo = QComboBox()
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setToolTip("Earlier runs of this session: choose one to see its answers, "
                              "ratings and scores")
        layout.addWidget(self.combo, 1)
        self.combo.activated.connect(self._on_activated)

    def set_runs(self, runs: list[Run], current_id: str | None,
                 statuses: dict[str, str] | None = None) -> None:
        """Fill the list without announcing a choice: the grid already shows ``current_id``."""
        self.runs = list(runs)
        self.combo.blockSignals(True)
        self.combo.clear()
        for run in self.runs:
            self.combo.addItem(describe_run(run, (statuses or {}).get(run.id)), run.id)
        index = self.combo.findData(current_id) if current_id else -1
        self.combo.setCurrentIndex(index if index >= 0 else 0 if self.runs else -1)
        self.combo.blockSignals(False)
        self.setEnabled(bool(self.runs))

    def _on_activated(self, index: int) -> None:
        run_id = self.combo.itemData(index)
        if run_id:
            self.run_chosen.emit(run_id)
