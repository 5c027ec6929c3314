"""An experiment dialog's Resume button: enabled while an interrupted (or stopped) experiment
of the dialog's kind is kept in the data folder; a click goes on with the newest of them (its
tooltip names it). The folders are looked at off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton

from ...services.experiments import experiment_state
from ..job_bridges import run_in_background


class ResumeButton(QPushButton):
    found = Signal(object)  # the FolderState a click would resume, or None

    def __init__(self, paths, kind: str, parent=None):
        super().__init__("Resume", parent)
        self.paths, self.kind = paths, kind
        self.state: experiment_state.FolderState | None = None
        self._allowed = True
        self.setEnabled(False)
        self.setToolTip("Finishes an interrupted experiment; there is none now.")

    def refresh(self) -> None:
        run_in_background(lambda: experiment_state.resumable(self.paths, self.kind), self,
                          self._found, self._not_found)

    def allow(self, allowed: bool) -> None:
        """Off while the dialog runs something."""
        self._allowed = allowed
        self.setEnabled(allowed and self.state is not None)

    def _found(self, states) -> None:
        self.state = states[0] if states else None
        self.setToolTip(f"Finish {self.state}, skipping the steps it finished."
                        if self.state else
                        "Finishes an interrupted experiment; there is none now.")
        self.setEnabled(self._allowed and self.state is not None)
        self.found.emit(self.state)

    def _not_found(self, _message: str) -> None:
        self._found([])
