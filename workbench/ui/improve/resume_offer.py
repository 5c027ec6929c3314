"""When a session opens, the window offers to resume its interrupted improve job (the app was
killed while it searched): a banner over the window, like the grid's Resume for an interrupted
run, with a button that opens the Improve dialog and goes on. A job the user cancelled is not
offered here (they stopped it on purpose); the dialog's Resume goes on with it. The store is
read off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton

from ...core.improve import INTERRUPTED
from ..banner import Banner
from ..job_bridges import run_in_background


class ResumeOffer(Banner):
    resume_requested = Signal(str)  # the improve job's id

    def __init__(self, service_for, parent=None):
        """``service_for()``: the ImproveService (made on first use: it is not needed at
        start-up)."""
        super().__init__(parent)
        self.service_for = service_for
        self.job_id: str | None = None
        self.session_id: str | None = None
        self.resume_button = QPushButton("Resume improve…")
        self.resume_button.clicked.connect(self._resume)
        self.layout().insertWidget(1, self.resume_button)

    def check(self, session_id: str) -> None:
        """Look for a job of ``session_id`` to resume; show the offer if there is one."""
        self.session_id = session_id
        self.job_id = None
        self.dismiss()

        def find():
            service = self.service_for()
            jobs = [job for job in service.resumable(session_id) if job.status == INTERRUPTED]
            return (jobs[0], len(service.candidates(jobs[0].id))) if jobs else None

        run_in_background(find, self, lambda found: self._found(session_id, found))

    def _found(self, session_id: str, found) -> None:
        if found is None or session_id != self.session_id:  # another session opened since
            return
        job, scored = found
        self.job_id = job.id
        self.show_message(
            f"The improve job {job.id[:8]} (started {job.created_at:%Y-%m-%d %H:%M}) was "
            f"interrupted with {scored} candidate(s) kept: Resume goes on from its stored "
            "steps and ends where it would have.", "info")

    def _resume(self) -> None:
        if self.job_id is not None:
            self.dismiss()
            self.resume_requested.emit(self.job_id)
