"""Resume: an interrupted run (its process was killed) or a stopped one, shown in the grid,
goes on in place. Only its missing cells are generated, with the run's own settings and
seeds; the cells it had keep their answers. A ComparePanel mixin."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

from ...core.runs import Run
from ..jobs import JobBridge


class GridResume:
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
        """The button shows while the grid holds a run that can be finished."""
        run = self.run
        self.resume_button.setVisible(run is not None and not self.running
                                      and self.history.resumable(run))

    def resume_shown_run(self) -> None:
        run = self.run
        if run is None or self.running or not self.history.resumable(run):
            return
        history, evaluation = self.history, self.evaluation
        case_set = self._stored_case_set(run.case_set_id)
        cases = list(case_set.cases) if case_set is not None else list(self.cases)
        self.resume_button.setEnabled(False)
        self.state.setText("Preparing to resume…")

        def prepare():
            # Off the GUI thread: an answer stored without its verdict is checked (and a
            # judge may be asked) before the run goes on.
            specs = [history.spec_for(variant) for variant in run.variants]
            repeats = history.repeats(run)
            listener = self._watch(case_set, cases)
            if listener is not None:
                evaluation.resumed(listener, run, specs, repeats=repeats)
            return specs, history.missing_cells(run), listener, repeats

        call = self._call("resume", prepare,
                          lambda prepared: self._start_resume(run, cases, *prepared))
        call.failed.connect(lambda _message: self.resume_button.setEnabled(True))

    def _start_resume(self, run: Run, cases: list, specs, missing, listener,
                      repeats: int) -> None:
        self.resume_button.setEnabled(True)
        if self.run is None or self.run.id != run.id or self.running:
            return  # the user moved on while it was prepared
        try:
            handle = self.runs.resume(run, specs, cases, missing, listener or self.bridge,
                                      repeats=repeats)
        except Exception as error:  # noqa: BLE001 - shown, never a crash (a busy run, a store)
            self.banner.show_message(str(error))
            self._show_resume()
            return
        if listener is not None:
            self._listeners[run.id] = listener
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
        self._handles.append(handle)
        title = f"Resuming: {len(missing)} missing cells"
        self.state.setText(f"{title}…")
        progress = JobBridge(self).bind(handle)
        progress.progress.connect(lambda p: self.state.setText(
            f"{title}: {int(p.done)} of {int(p.total)} done…")
            if self.handle is handle and not handle.done.is_set() else None)
        progress.finished.connect(progress.deleteLater)
        self._set_running(True)
        self.refresh_runs()
