"""Experiments ▸ Quantization lab…: pick a model and quantization types, start, watch each
step, cancel, read the report (table, plot, recommendation), save it as HTML or Markdown.

Not modal, and never blocking: the lab runs in QuantLabService's own thread as one JobState;
a JobBridge brings its progress and end to the GUI thread. Cancel kills the running child.
Resume finishes the newest interrupted lab, keeping the files it made and the arms it measured.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...core.job_state import DONE, FAILED, JobProgress, JobState
from ...services.experiments.quantlab import QuantLabService
from ...services.experiments.quantlab_config import COMMON_TYPES, QuantLabConfig
from ...services.experiments.quantlab_outcome import QuantLabOutcome, load_results
from ..file_dialogs import ask_open_path, ask_save_path
from ..job_bridges import JobBridge, run_in_background
from .report_view import SAVE_FILTERS, report_text_document, save_report
from .resume_button import ResumeButton

DEFAULT_TICKED = ("Q8_0", "Q4_K_M")


class QuantLabDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        services = window.services
        self.service = QuantLabService(services.models, services.store,
                                       getattr(services, "evaluation", None),
                                       plugins=getattr(services, "plugins", None))
        self.job: JobState | None = None
        self.outcome: QuantLabOutcome | None = None
        self.document = None  # the shown report (a ReportDocument), what Save writes
        self.figure_names: list[str] = []
        self.setWindowTitle("Quantization lab")
        self.setModal(False)
        self.resize(1100, 850)
        self._build()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model_box = QComboBox(editable=True)
        self._fill_models()
        form.addRow("Model", self.model_box)
        types = QWidget()
        grid = QGridLayout(types)
        grid.setContentsMargins(0, 0, 0, 0)
        self.type_boxes: dict[str, QCheckBox] = {}
        for number, name in enumerate(COMMON_TYPES):
            box = QCheckBox(name)
            box.setChecked(name in DEFAULT_TICKED)
            self.type_boxes[name] = box
            grid.addWidget(box, number // 4, number % 4)
        form.addRow("Quantization types", types)
        suite_row = QHBoxLayout()
        self.suite_edit = QLineEdit(placeholderText="optional: a suite file for texts and "
                                                    "pass rates")
        self.suite_button = QPushButton("Browse…")
        self.suite_button.clicked.connect(self._browse_suite)
        suite_row.addWidget(self.suite_edit)
        suite_row.addWidget(self.suite_button)
        form.addRow("Suite", suite_row)
        self.engine_edit = QLineEdit(placeholderText="optional: more arms, e.g. -fa on; "
                                                     "-ctk q8_0 -ctv q8_0")
        form.addRow("Engine settings", self.engine_edit)
        self.repeats_spin = QSpinBox(minimum=1, maximum=50, value=3)
        self.pp_spin = QSpinBox(minimum=0, maximum=8192, value=512)
        self.tg_spin = QSpinBox(minimum=0, maximum=2048, value=128)
        self.threads_spin = QSpinBox(minimum=0, maximum=256, value=0, specialValueText="auto")
        speed = QHBoxLayout()
        for label, spin in (("repeats", self.repeats_spin), ("prompt tokens", self.pp_spin),
                            ("decoded tokens", self.tg_spin), ("threads", self.threads_spin)):
            speed.addWidget(QLabel(label))
            speed.addWidget(spin)
        speed.addStretch(1)
        form.addRow("Speed runs", speed)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = ResumeButton(self.service.paths, "quantlab")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.found.connect(self._resumable)
        self.resume_button.refresh()
        self.open_button = QPushButton("Open results…")
        self.open_button.clicked.connect(self._open_results)
        self.save_html_button = QPushButton("Save HTML…", enabled=False)
        self.save_html_button.clicked.connect(lambda _checked=False: self._save("html"))
        self.save_md_button = QPushButton("Save Markdown…", enabled=False)
        self.save_md_button.clicked.connect(lambda _checked=False: self._save("md"))
        for button in (self.start_button, self.cancel_button, self.resume_button,
                       self.open_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_html_button)
        buttons.addWidget(self.save_md_button)
        layout.addLayout(buttons)
        self.progress_bar = QProgressBar(minimum=0, maximum=1000, value=0)
        self.step_label = QLabel("Pick a model and the types to compare, then Start.")
        self.step_label.setWordWrap(True)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.step_label)
        self.report_view = QTextBrowser(openExternalLinks=False)
        layout.addWidget(self.report_view, 1)

    def _fill_models(self) -> None:
        """The default model at once; the library's models when listed (off the GUI thread:
        listing reads the database and scans folders)."""
        models = self.window_.services.models
        default = models.default_path()
        if default is not None:
            self.model_box.addItem(default.name, str(default))
        run_in_background(models.list_models, self,
                          lambda known: self._set_models(known, default))

    def _set_models(self, known, default) -> None:
        typed = self.model_box.currentText()
        self.model_box.clear()
        for model in known:
            self.model_box.addItem(model.name, str(model.path))
        index = next((i for i in range(self.model_box.count())
                      if default is not None and self.model_box.itemData(i) == str(default)),
                     -1)
        if index >= 0 and (default is None or typed == default.name):
            self.model_box.setCurrentIndex(index)
        else:
            self.model_box.setEditText(typed)

    # -- running ---------------------------------------------------------------------------

    def config(self) -> QuantLabConfig:
        text = self.model_box.currentText().strip()
        index = self.model_box.currentIndex()
        model = (self.model_box.itemData(index)
                 if index >= 0 and self.model_box.itemText(index) == text else text)
        engines = [""] + [part.strip() for part in self.engine_edit.text().split(";")
                          if part.strip()]
        return QuantLabConfig(
            model=model or text,
            quants=[name for name, box in self.type_boxes.items() if box.isChecked()],
            engines=engines, suite=self.suite_edit.text().strip() or None,
            repeats=self.repeats_spin.value(), pp=self.pp_spin.value(),
            tg=self.tg_spin.value(), threads=self.threads_spin.value())

    def start(self) -> None:
        if self.job is not None and not self.job.done.is_set():
            return
        config = self.config()
        self._launch("Starting…", lambda watcher: self.service.start(config, watcher))

    def resume(self) -> None:
        """Finish the newest interrupted lab (with its own settings, not the form's)."""
        state = self.resume_button.state
        if state is None or (self.job is not None and not self.job.done.is_set()):
            return
        self._launch(f"Resuming {state.folder.name}…",
                     lambda watcher: self.service.start_resume(state.folder, watcher))

    def _launch(self, text: str, start) -> None:
        self.outcome = None
        self.report_view.clear()
        self._running(True)
        self.step_label.setText(text)
        self.progress_bar.setValue(0)
        bridge = JobBridge(self)
        bridge.progress.connect(self._on_progress)
        bridge.finished.connect(self._on_finished)
        self.job = start(bridge.watcher)  # the service makes the job; the bridge watches it

    def _resumable(self, state) -> None:
        if state is not None and self.job is None:
            self.step_label.setText(f"Pick a model and the types to compare, then Start — or "
                                    f"Resume to finish {state}.")

    def cancel(self) -> None:
        if self.job is not None:
            self.step_label.setText("Cancelling…")
            self.job.cancel()

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.allow(not running)
        self.open_button.setEnabled(not running)
        for button in (self.save_html_button, self.save_md_button):
            button.setEnabled(not running and self.document is not None)

    def _on_progress(self, progress: JobProgress) -> None:
        fraction = progress.fraction
        if fraction is not None:
            self.progress_bar.setValue(int(1000 * min(1.0, fraction)))
        self.step_label.setText(progress.message)

    def _on_finished(self, state: JobState) -> None:
        if state.status == FAILED:
            self.step_label.setText(f"The lab failed: {state.error}")
        else:
            self.show_outcome(state.outcome)
            if state.status == DONE:
                self.progress_bar.setValue(1000)
            self.step_label.setText(
                ("Done" if state.status == DONE else "Cancelled: what was measured is shown")
                + f" — kept in {state.outcome.folder}")
        self._running(False)
        self.resume_button.refresh()

    # -- the report ------------------------------------------------------------------------

    def show_outcome(self, outcome: QuantLabOutcome | None) -> None:
        """Build the report off the GUI thread (matplotlib draws the plot), then show it."""
        self.outcome = outcome
        self.document = None
        if outcome is None:
            return

        run_in_background(outcome.report, self,
                          lambda report: self._show_report(outcome, report),
                          lambda message: self.step_label.setText(message))

    def _show_report(self, outcome: QuantLabOutcome, report) -> None:
        if outcome is not self.outcome:
            return  # another lab was opened meanwhile
        self.document = report
        document, self.figure_names = report_text_document(report, self.report_view)
        self.report_view.setDocument(document)
        self._running(self.job is not None and not self.job.done.is_set())

    def _save(self, kind: str) -> None:
        if self.document is None:
            return
        suffix = ".html" if kind == "html" else ".md"
        path = ask_save_path(self, "Save the report", f"quantlab-report{suffix}",
                             SAVE_FILTERS[suffix])
        if path:
            self.step_label.setText(save_report(self.document, path, suffix))

    def _browse_suite(self) -> None:
        path = ask_open_path(self, "Suite file", "Suites (*.yaml *.yml)")
        if path:
            self.suite_edit.setText(path)

    def _open_results(self) -> None:
        path = ask_open_path(self, "A lab's results", "Lab results (results.json)")
        if not path:
            return
        try:
            outcome = load_results(path)
        except Exception as error:  # noqa: BLE001 - shown, never raised into Qt
            self.step_label.setText(str(error))
            return
        self.show_outcome(outcome)
        self._running(False)
        self.step_label.setText(f"Opened {path}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.job is not None and not self.job.done.is_set():
            self.job.cancel()
        super().closeEvent(event)
