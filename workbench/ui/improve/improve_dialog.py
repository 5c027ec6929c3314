"""Experiments ▸ Improve… (or the toolbar's Improve… button): search for a better version of
the composer's prompt against the session's checked cases, and show the evidence.

Not modal: a search takes minutes and the window stays usable. The search runs in the
service's own background thread; one JobBridge per job brings its progress, its partial
results (one ``ImproveProgress`` per scored candidate: a table row, a plot point) and its end
onto the GUI thread. Everything that reads or writes the store (starting, resuming, adopting,
opening a candidate) runs through ``run_in_background``. Resume goes on with an interrupted or
cancelled job of the session; the service replays its stored steps, so the table and the plot
fill again from the start. Closing the dialog does not stop a search (the window keeps the
dialog, and reopening it shows the search going on); a killed app resumes it from the store.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import WorkbenchError
from ...core.improve import CANCELLED, DONE
from ...services.improve import ImproveService
from ..job_bridges import JobBridge, run_in_background
from .candidates_table import CandidatesTable
from .evidence_view import best_label, diff_text, evidence_html
from .improve_form import ImproveForm, Target
from .improve_plot import ImprovePlot, legend_html

READY = "Set the search up, then Start. The composer's prompt is saved as the start."


class ImproveDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.window_ref = window
        self.service = ImproveService(window.services.evaluation)
        self.job = None  # the JobState of the job this dialog runs, while it runs
        self.job_id: str | None = None  # the job shown (running or ended)
        self.job_session: str | None = None  # its session (the window may have moved on)
        self.outcome = None  # its ImproveOutcome once it ended
        self.failure: str | None = None  # why the job failed or did not start (kept on screen)
        self.resumable = None  # the session's newest interrupted, cancelled or failed job
        self._cancel_asked = False  # Cancel clicked before the job had started
        self.setWindowTitle("Improve the prompt")
        self.setModal(False)
        self.resize(1180, 900)
        self._build()
        self.refresh_choices()

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.form = ImproveForm()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip("Goes on with an interrupted, cancelled or failed improve job of "
                                      "this session; there is none now.")
        self.resume_button.clicked.connect(lambda: self.resume())
        self.use_button = QPushButton("Use this version")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use_version)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m generations")
        self.status = QLabel(READY)
        self.status.setWordWrap(True)
        self.plot = ImprovePlot()
        self.table = CandidatesTable()
        self.table.open_requested.connect(self.open_candidate)
        self.evidence = QLabel("The evidence appears here when the search ends: the start and "
                               "the best candidate on held-out cases the search never saw.")
        self.evidence.setWordWrap(True)
        self.evidence.setTextFormat(Qt.TextFormat.RichText)
        self.evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evidence.setStyleSheet("padding:6px; background:#f5f5f5")
        self.diff = QTextBrowser()
        self.diff.setPlaceholderText("The start against the best candidate, word by word.")
        self.legend = QLabel(legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        chart = QWidget()
        chart_layout = QVBoxLayout(chart)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.legend)
        chart_layout.addWidget(self.plot, 1)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(chart)
        upper.addWidget(self.table)
        upper.setSizes([550, 650])  # the table's Change column is what a reader studies
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.evidence)
        lower_layout.addWidget(self.diff, 1)
        results = QSplitter(Qt.Orientation.Vertical)
        results.addWidget(upper)
        results.addWidget(lower)
        results.setSizes([440, 300])  # the diff gets room to be read
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(results, 1)

    def refresh_choices(self) -> None:
        """The grid's variants as targets, the library's models as proposers (they change
        while the dialog is closed), and whether the session has a job to resume."""
        window = self.window_ref
        variants, names = window.compare.variants, window.model_names.of
        targets = []
        for row in range(variants.count()):
            try:
                model = variants.model_choice(row) or window.picker.chosen()
                targets.append(Target(variants.label(row), model, variants.sampling(row)))
            except WorkbenchError:
                continue  # a row with a bad sampling flag cannot be a target
        self.form.set_targets(targets, names)
        self.form.set_proposers([(names(r), r) for r in window.picker.references()])
        self.refresh_resume()

    def refresh_resume(self) -> None:
        session_id = self._session_id()
        if session_id is None:
            return
        run_in_background(lambda: self.service.resumable(session_id), self, self._resumable,
                          lambda _message: self._resumable([]))

    def _resumable(self, jobs) -> None:
        self.resumable = jobs[0] if jobs else None
        running = self.job is not None
        self.resume_button.setEnabled(self.resumable is not None and not running)
        if self.resumable is None:
            self.resume_button.setToolTip("Goes on with an interrupted, cancelled or failed improve "
                                          "job of this session; there is none now.")
            return
        job = self.resumable
        self.resume_button.setToolTip(f"Go on with improve job {job.id[:8]} ({job.status}, "
                                      f"started {job.created_at:%Y-%m-%d %H:%M}) from its "
                                      "stored steps")
        if not running and self.outcome is None and self.failure is None:
            self.status.setText(f"{READY} Or Resume the {job.status} job {job.id[:8]}.")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.job is None:
            self.refresh_choices()

    def _session_id(self) -> str | None:
        workspace = self.window_ref.workspace
        return workspace.session.id if workspace is not None else None

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        window = self.window_ref
        if window.workspace is None or self.job is not None:
            return
        version = window.save_version()  # the composer as it is now is the start
        if version is None:
            return
        try:
            request = self.form.request(window.workspace.session.id, version.id,
                                        window.picker.n_ctx.value())
        except WorkbenchError as error:
            self.status.setText(str(error))
            return
        self._launch("Starting: splitting the cases, scoring the start…",
                     lambda watcher: self.service.start(request, watcher))

    def resume(self, job_id: str | None = None) -> None:
        """Go on with ``job_id`` (None: the session's newest resumable job)."""
        job_id = job_id or (self.resumable.id if self.resumable is not None else None)
        if job_id is None or self.job is not None:
            return
        self._launch(f"Resuming improve job {job_id[:8]}: replaying its stored steps…",
                     lambda watcher: self.service.resume(job_id, watcher))

    def _launch(self, text: str, start) -> None:
        """Start the job off the GUI thread (the service writes the store first)."""
        self.outcome, self.job_session = None, self._session_id()
        self.failure = None
        self.plot.reset()
        self.legend.setText(legend_html())
        self.table.show_all([], None, "best so far")
        self.evidence.setText("The evidence appears here when the search ends.")
        self.diff.clear()
        self.status.setText(text)
        bridge = JobBridge(self)
        bridge.progress.connect(self._progress)
        bridge.partial.connect(self._partial)
        bridge.finished.connect(self._finished)
        bridge.finished.connect(bridge.deleteLater)
        self.job = bridge  # running; the JobState replaces it once started
        self._cancel_asked = False
        self._running(True)
        run_in_background(lambda: start(bridge.watcher), self, self._started,
                          self._not_started)

    def _started(self, state) -> None:
        if self.job is None:  # ended already (a tiny job can)
            return
        self.job = state
        if self._cancel_asked:
            state.cancel()

    def _not_started(self, message: str) -> None:
        self.job = None
        self._running(False)
        self.failure = message  # kept on screen: the resume check must not replace it
        self.status.setText(message)
        self.refresh_resume()

    def cancel(self) -> None:
        job = self.job
        if job is None:
            return
        self.status.setText("Cancelling: the evaluation under way stops; every step so far "
                            "is kept and the job can be resumed.")
        self.cancel_button.setEnabled(False)
        if isinstance(job, JobBridge):  # still starting: cancelled as soon as it has
            self._cancel_asked = True
        else:
            job.cancel()

    def _progress(self, progress) -> None:
        if progress.total:
            self.progress.setRange(0, int(progress.total))
            self.progress.setValue(int(progress.done))
        if progress.message:
            self.status.setText(f"{progress.message} — {int(progress.done)} of "
                                f"{int(progress.total)} generations")

    def _partial(self, progress) -> None:
        """One candidate scored: its row, the best so far, the plot's newest point."""
        if progress.candidate is not None:
            self.table.show_candidate(progress.candidate)
        if progress.best is not None and progress.phase != "done":
            self.table.mark_best(progress.best.id)
        if progress.phase == "searching":
            self.plot.add_point(progress.point.generations, progress.point.training_rate)

    def _finished(self, state) -> None:
        self.job = None
        self._running(False)
        self.refresh_resume()
        outcome = state.outcome
        if state.status == "failed" or outcome is None:
            self.failure = state.error or "no reason given"
            self.status.setText(f"The improve job failed: {self.failure}\nOnce that is fixed, "
                                "Resume goes on with it: nothing scored is lost.")
            return
        self.show_outcome(outcome)

    def show_outcome(self, outcome) -> None:
        """A job's end (``ImproveOutcome``): its candidates, its plot, the evidence, the diff,
        and Use this version when it finished."""
        self.outcome, self.job_id = outcome, outcome.job.id
        self.job_session = outcome.job.session_id
        label = best_label(outcome)
        self.table.show_all(outcome.candidates, outcome.best.id, label)
        self.plot.set_points(outcome.history)
        self.evidence.setText(evidence_html(outcome))
        if outcome.status == CANCELLED or outcome.evidence is None:
            self.status.setText(f"{outcome.status.capitalize()}: its "
                                f"{len(outcome.candidates)} candidates so far are kept; Resume "
                                "goes on from them.")
            return
        spent = outcome.spent
        self.status.setText(
            f"Done: {spent.generations} generations ({spent.search_generations} searching, "
            f"{spent.held_out_generations} held-out), {spent.proposer_calls} proposer calls, "
            f"{spent.wall_s:.0f} s, {len(outcome.candidates)} candidates.")
        self.progress.setRange(0, max(1, spent.generations))
        self.progress.setValue(spent.generations)
        self.plot.show_held_out(outcome.history[-1].generations if outcome.history
                                else spent.generations, outcome.evidence)
        self.legend.setText(legend_html(label))
        self.use_button.setEnabled(outcome.status == DONE)
        self.use_button.setText("Use this version" if outcome.winner is not None
                                else "Use the best anyway")
        self.use_button.setToolTip(
            "Save the winner as the newest version of the session's prompt" if outcome.winner
            else "Not a significant improvement on the held-out cases: save the best "
                 "candidate as the newest version all the same")
        self._show_diff(outcome, label)

    def _show_diff(self, outcome, label: str) -> None:
        workspace = self.window_ref.workspace_service
        versions = (outcome.start.version_id, outcome.best.version_id)
        run_in_background(lambda: [workspace.version(v) for v in versions], self,
                          lambda found: self.diff.setHtml(diff_text(*found, label)),
                          lambda message: self.diff.setPlainText(message))

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.resumable is not None)
        self.form.setEnabled(not running)
        if running:
            self.use_button.setEnabled(False)

    # -- using what it found --------------------------------------------------------------

    def use_version(self) -> None:
        """Save the winner (or, asked for, the best) as the newest version of the session's
        prompt; the composer shows it and the history panel lists it."""
        outcome = self.outcome
        if outcome is None:
            return
        job_id = outcome.job.id
        candidate_id = None if outcome.winner is not None else outcome.best.id
        self.use_button.setEnabled(False)
        run_in_background(lambda: self.service.adopt(job_id, candidate_id), self,
                          self._adopted, self._not_adopted)

    def _adopted(self, adopted) -> None:
        version, sampling = adopted
        window = self.window_ref
        window.open_session(self.job_session)  # the job's (nothing if it is shown)
        window.refresh_history()
        window.composer.set_version(version)
        window.save_draft()
        window.update_title()
        note = (f" It ran with temperature {sampling.temperature:g}: set the variant's to "
                "match." if self.outcome.best.settings.temperature is not None else "")
        self.status.setText(f"Saved as the newest version of the prompt ({version.note}); "
                            f"the composer shows it.{note}")
        window.banner.show_message(f"Improve: {version.note}; the composer shows it.{note}",
                                   "info")
        self.use_button.setEnabled(True)

    def _not_adopted(self, message: str) -> None:
        self.status.setText(message)
        self.use_button.setEnabled(True)

    def open_candidate(self, candidate) -> None:
        """A candidate's prompt version into the composer (saving it makes a new version)."""
        workspace = self.window_ref.workspace_service
        run_in_background(lambda: workspace.version(candidate.version_id), self,
                          self._open_version, lambda message: self.status.setText(message))

    def _open_version(self, version) -> None:
        window = self.window_ref
        if self.job_session is not None:  # the job's session, if the window moved on
            window.open_session(self.job_session)
        window.restore_version(version)
