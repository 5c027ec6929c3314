"""Keeps each session's variants table in the database, like its prompt.

The table is saved a moment after the user stops editing it (one write per pause, not per
keystroke), at once when a run starts or the window closes, and before another session is
shown; opening a session shows the rows it was left with (a new one: Greedy and Creative).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from ...core.errors import NotFoundError, WorkbenchError
from ...services.workspace import WorkspaceService
from .variants_table import VariantsTable

SAVE_DELAY_MS = 800


class VariantsKeeper(QObject):
    def __init__(self, table: VariantsTable, workspace: WorkspaceService, report, parent=None):
        """``report(message)`` shows a failed save to the user (the window's banner)."""
        super().__init__(parent)
        self.table = table
        self.workspace = workspace
        self.report = report
        self.session_id: str | None = None
        self.timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self.timer.timeout.connect(self.save_now)
        table.edited.connect(self._edited)

    def _edited(self) -> None:
        if self.session_id is not None:
            self.timer.start()

    def show(self, session_id: str, variants) -> None:
        """Show ``session_id``'s rows; edits still waiting for the previous session go there."""
        if self.timer.isActive():
            self.save_now()
        self.session_id = session_id
        self.table.set_rows(variants)

    def save_now(self) -> None:
        self.timer.stop()
        if self.session_id is None:
            return
        try:
            self.workspace.save_variants(self.session_id, self.table.rows())
        except NotFoundError:
            pass  # the session was deleted: nothing left to save them to
        except WorkbenchError as error:
            self.report(f"Could not save the variants: {error}")
