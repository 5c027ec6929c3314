"""Resume: an interrupted run (its process was killed) or a stopped one, shown in the grid,
goes on in place. Only its missing cells are generated, with the run's own settings and
seeds; the cells it had keep their answers. A ComparePanel mixin."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

from ...core.errors import WorkbenchError
from ...core.runs import Run
from ...services.run_state import RESUMABLE
from ..job_bridges import JobBridge
from .grid_parts import PanelBase


class GridResume(PanelBase):
    """Needs the panel's run, cases, cells, history, runs, evaluation, bridge, banner,
    state, _handles, _listeners, _repeating, _call, _set_running and refresh_runs."""

    def _build_resume_button(self) -> QPushButton:
        self.resume_button = QPushButton("↻ Resume")
        self.resume_button.setToolTip("Finish this run: generate only its missing cells, with "
                                      "the run's own settings and seeds")
        self.resume_button.hide()
        self.resume_button.clicked.connect(lambda: self.resume_shown_run())
        return self.resume_button

    def _show_resume(self) -> None:
        """The button shows while the grid holds a run that can be finished. Whether it can
        is partly a store read (an improve job's sample is finished by its job), asked off the
        GUI thread: this runs the moment a run stops, while its last writes are landing, and a
        read there stalled the window for 140-250 ms in the soak (tests/bench/bench_gui_soak.py)."""
        run, history = self.run, self.history
        if run is None or self.running or run.status not in RESUMABLE:
            self.resume_button.hide()
            return

        def shown(resumable: bool) -> None:
            still_shown = self.run is not None and self.run.id == run.id
            self.resume_button.setVisible(resumable and still_shown and not self.running)

        self._call("resumable", lambda: history.resumable(run), shown)

    def resume_shown_run(self) -> None:
        run = self.run
        if run is None or self.running or run.status not in RESUMABLE:
            return
        history, evaluation, runs, bridge = self.history, self.evaluation, self.runs, self.bridge
        self.resume_button.setEnabled(False)
        self.state.setText("Preparing to resume…")

        def prepare():
            # Off the GUI thread: the store is read and written (stopped cells removed), an
            # answer stored without its verdict is checked (a judge may be asked), and only
            # then the run goes on.
            if not history.resumable(run):
                raise WorkbenchError("This run is an improve job's sample: "
                                     "`workbench improve --resume` finishes it.")
            case_set = self._stored_case_set(run.case_set_id)
            cases = list(case_set.cases) if case_set is not None else list(self.cases)
            specs = [history.spec_for(variant) for variant in run.variants]
            repeats = history.repeats(run)
            listener = self._watch(case_set, cases)
            if listener is not None:
                evaluation.resumed(listener, run, specs, repeats=repeats)
            missing = history.missing_cells(run)
            handle = runs.resume(run, specs, cases, missing, listener or self.bridge,
                                 repeats=repeats)
            bridge.follow(handle)  # before the GUI thread hears of it: a tiny resume may end first
            return handle, missing, listener, repeats

        call = self._call("resume", prepare, lambda started: self._start_resume(run, *started))
        call.failed.connect(self._resume_failed)

    def _resume_failed(self, _message: str) -> None:
        self.resume_button.setEnabled(True)
        self._show_resume()

    def _start_resume(self, run: Run, handle, missing, listener, repeats: int) -> None:
        """The resumed run is under way (started off the GUI thread): track it, and show it
        when it is still the run in the grid."""
        self.resume_button.setEnabled(True)
        if listener is not None:
            self._listeners[run.id] = listener
        self._handles.append(handle)
        if self.run is None or self.run.id != run.id or handle.done.is_set():
            # the user moved on while it was prepared, or a tiny resume has ended already
            # (its end has been shown)
            self._set_running(self.running)
            return
        self.run = handle.run
        self._run_repeats = repeats
        waiting = {(cell.variant_id, cell.case_id) for cell in missing}
        for key in waiting:
            cell = self.cells.get(key)
            if cell is not None:
                cell.stats.setText("queued")
            if repeats > 1:
                self._repeating.add(key)
        self.handle = handle
        title = f"Resuming: {len(missing)} missing cells"
        self.state.setText(f"{title}…")
        progress = JobBridge(self).bind(handle)
        progress.progress.connect(lambda p: self.state.setText(
            f"{title}: {int(p.done)} of {int(p.total)} done…")
            if self.handle is handle and not handle.done.is_set() else None)
        progress.finished.connect(progress.deleteLater)
        self._set_running(self.running)  # a tiny resume may have ended already
        self.refresh_runs()
