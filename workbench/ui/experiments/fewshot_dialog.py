"""Experiments ▸ Few-shot vs fine-tune…: set the experiment up, watch its steps, read the report.

Not modal (an experiment takes minutes; the window stays usable). The work is the service's
JobState, bound by one JobBridge; Cancel stops generating and kills a running trainer. The
report is the same HTML the CLI writes, shown in a QTextBrowser with its plots registered as
document resources (QTextDocument does not load data: URIs). Resume finishes the newest
interrupted experiment, skipping the steps it finished.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTextBrowser,
    QVBoxLayout,
)

from ...core.errors import WorkbenchError
from ...services.experiments.fewshot_config import ASSERTIONS, FewShotConfig, default_training
from ...services.experiments.fewshot_runner import FewShotService
from .. import file_dialogs
from ..form_rows import FormRow, spin_box
from ..job_bridges import JobBridge
from .report_view import SAVE_FILTERS, report_text_document, save_report
from .resume_button import ResumeButton

DATA_FILTER = "Examples (*.jsonl *.json *.csv);;All files (*)"


class FewShotDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.window_ref = window
        services = window.services
        self.service = FewShotService(services.tuning, services.evaluation)
        self.job = None
        self.outcome = None
        self.setWindowTitle("Few-shot vs fine-tune")
        self.setModal(False)
        self.resize(1000, 860)
        self._build()

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_form())
        layout.addLayout(self._build_buttons())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.step_label = QLabel("Set the experiment up, then Start.")
        self.step_label.setWordWrap(True)
        self.report = QTextBrowser()
        self.report.setOpenExternalLinks(False)
        layout.addWidget(self.progress)
        layout.addWidget(self.step_label)
        layout.addWidget(self.report, 1)

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        form.addRow("Model", self.model_label)
        self._show_model()
        self.window_ref.models.loaded.connect(self._show_model)
        form.addRow("Examples", self._build_examples_choice())
        form.addRow("", FormRow(self.from_file, (self.file_edit, 1), self.browse))
        self.system_edit = QLineEdit(placeholderText="(the examples' own system prompt, if any)")
        form.addRow("System prompt", self.system_edit)
        self.k_edit = QLineEdit("0, 2, 4, 8")
        form.addRow("k values", self.k_edit)
        self.held_out = spin_box(1, 10_000, 15)
        form.addRow("Held-out cases", self.held_out)
        self.seed = spin_box(0, 2**31 - 1, 0)
        form.addRow("Seed", self.seed)
        self.repeats = spin_box(1, 100, 2)
        form.addRow("Repeats", self.repeats)
        self.steps = spin_box(0, 100_000, default_training().max_steps or 30,
                              special="no adapters")
        form.addRow("Training steps", self.steps)
        self.assertion = QComboBox()
        self.assertion.addItems(ASSERTIONS)
        form.addRow("Answer passes with", self.assertion)
        return form

    def _build_examples_choice(self) -> QRadioButton:
        """This session's examples or a file (its row is laid out by the caller); the
        session's radio button is returned, the file's parts are kept."""
        self.from_session = QRadioButton("This session's examples and rated outputs")
        self.from_file = QRadioButton("A file:")
        group = QButtonGroup(self)
        group.addButton(self.from_session)
        group.addButton(self.from_file)
        self.file_edit = QLineEdit(placeholderText="JSONL, JSON or CSV, as the tune wizard reads")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        has_session = getattr(self.window_ref, "workspace", None) is not None
        self.from_session.setEnabled(has_session)
        (self.from_session if has_session else self.from_file).setChecked(True)
        self.file_edit.textEdited.connect(lambda _text: self.from_file.setChecked(True))
        return self.from_session

    def _build_buttons(self) -> QHBoxLayout:
        """Start, Cancel, Resume; the report's Save buttons at the right."""
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = ResumeButton(self.service.tuning.paths, "few-shot")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.found.connect(self._resumable)
        self.resume_button.refresh()
        self.save_html = QPushButton("Save HTML…")
        self.save_html.clicked.connect(lambda: self._save(".html"))
        self.save_md = QPushButton("Save Markdown…")
        self.save_md.clicked.connect(lambda: self._save(".md"))
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.save_html, self.save_md):
            button.setEnabled(False)
            buttons.addWidget(button)
        return buttons

    def _show_model(self, _metadata=None) -> None:
        """The model the experiment trains and compares: the one the window has loaded (Start
        takes its name), named again whenever the window loads another."""
        models = self.window_ref.models
        metadata = models.metadata
        if models.name:  # the name the model bar shows, and the one Start passes on
            shown = Path(models.name).name
        else:
            shown = Path(metadata.path).name if metadata is not None else "the bundled model"
        self.model_label.setText(f"{shown} — the model loaded in the window: the adapters are "
                                 "trained on it and every arm answers with it")
        self.model_label.setToolTip(metadata.path if metadata is not None else
                                    "Load another model in the model bar to use it here")

    def _browse(self) -> None:
        path = file_dialogs.ask_open_path(self, "Example file", DATA_FILTER)
        if path:
            self.file_edit.setText(path)
            self.from_file.setChecked(True)

    # -- the config -----------------------------------------------------------------------

    def config(self) -> FewShotConfig:
        """The form as a config; bad input raises WorkbenchError naming the field."""
        try:
            ks = tuple(int(part) for part in re.split(r"[,\s]+", self.k_edit.text().strip())
                       if part)
        except ValueError:
            raise WorkbenchError(f"k values: '{self.k_edit.text()}' is not a list of whole "
                                 "numbers (for example 0, 2, 4, 8).") from None
        session_id = data = None
        if self.from_session.isChecked():
            session_id = self.window_ref.workspace.session.id
        else:
            path = self.file_edit.text().strip()
            if not path:
                raise WorkbenchError("Examples: choose a file, or this session's examples.")
            if not Path(path).expanduser().is_file():
                raise WorkbenchError(f"Examples: {path} is not a file.")
            data = (str(Path(path).expanduser()),)
        steps = self.steps.value()
        training = replace(default_training(), max_steps=steps or 1)
        return FewShotConfig(
            model=getattr(self.window_ref.models, "name", None), data=data or (),
            session_id=session_id, system=self.system_edit.text().strip(),
            held_out=self.held_out.value(), ks=ks, seed=self.seed.value(),
            repeats=self.repeats.value(), assertion=self.assertion.currentText(),
            adapter_k="largest" if steps else "none", adapter_on_all=bool(steps),
            control=bool(steps), stop=("\n",), training=training).validate()

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        try:
            config = self.config()
        except WorkbenchError as error:
            self._show_error(str(error))
            return
        self._launch("Starting…", lambda watcher: self.service.start(config, watcher))

    def resume(self) -> None:
        """Finish the newest interrupted experiment (its own settings, not the form's)."""
        state = self.resume_button.state
        if state is None or (self.job is not None and not self.job.done.is_set()):
            return
        self._launch(f"Resuming {state.folder.name}…",
                     lambda watcher: self.service.start_resume(state.folder, watcher))

    def _launch(self, text: str, start) -> None:
        self.outcome = None
        self.report.clear()
        self._running(True)
        self.step_label.setText(text)
        bridge = JobBridge(self)
        bridge.progress.connect(self._progress)
        bridge.finished.connect(self._finished)
        self.job = start(bridge.watcher)

    def _resumable(self, state) -> None:
        if state is not None and self.job is None:
            self.step_label.setText(f"Set the experiment up, then Start — or Resume to finish "
                                    f"{state}.")

    def cancel(self) -> None:
        if self.job is not None:
            self.step_label.setText("Cancelling: stopping the answers and the trainer…")
            self.cancel_button.setEnabled(False)
            self.job.cancel()

    def _progress(self, progress) -> None:
        if progress.total:
            self.progress.setRange(0, int(progress.total))
            self.progress.setValue(int(progress.done))
        else:
            self.progress.setRange(0, 0)  # busy: a step of unknown length
        self.step_label.setText(progress.message or "Working…")

    def _finished(self, state) -> None:
        self._running(False)
        self.resume_button.refresh()
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if state.status == "done" else 0)
        if state.status == "failed" or state.outcome is None:
            self._show_error(state.error or "The experiment failed.")
            return
        self.outcome = state.outcome
        self.step_label.setText(
            ("Cancelled; what finished is shown. " if state.status == "cancelled" else "Done. ")
            + f"Stored in {self.outcome.folder}.")
        self.show_report(self.outcome.document)
        self.save_html.setEnabled(True)
        self.save_md.setEnabled(True)

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.allow(not running)
        self.save_html.setEnabled(False)
        self.save_md.setEnabled(False)

    def _show_error(self, message: str) -> None:
        self.step_label.setText(message)
        self.report.setPlainText(message)

    def show_report(self, document) -> None:
        """The report, its plots as the text document's image resources."""
        text_document, _ = report_text_document(document, self.report)
        self.report.setDocument(text_document)

    def _save(self, suffix: str) -> None:
        if self.outcome is None:
            return
        path = file_dialogs.ask_save_path(self, "Save the report", f"few-shot-vs-lora{suffix}",
                                          SAVE_FILTERS[suffix])
        if path:
            self.step_label.setText(save_report(self.outcome.document, path, suffix))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.job is not None and not self.job.done.is_set():
            self.job.cancel()  # closing the dialog abandons the experiment
        super().closeEvent(event)
