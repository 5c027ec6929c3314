"""The tune wizard's pages: base model, data, settings, training, export and compare."""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWizardPage,
)

from ...core.wording import counted
from ...services.tuning import (
    ALL_LINEAR,
    PRESETS,
    Imported,
    TuneConfig,
    TuneSettings,
    TuningService,
)
from ..job_bridges import BackgroundCall, JobBridge
from .loss_plot import Histogram, LossPlot
from .where_box import WhereBox


class WizardParts(Protocol):
    """What the pages use of the wizard that holds them (TuneWizard, tune_wizard.py): the
    service, the choices made on earlier pages, the job, and how to run a slow call. Declared
    here, so the pages need not import the wizard that imports them."""

    service: TuningService
    session_id: str | None
    base: Any  # the chosen base model's BaseInfo, None until one is read
    imported: Imported
    plan: Any  # the TrainingPlan for the imported data, None until planned
    run: Any  # the TuneRun in progress
    job: Any  # the TuneJob trained (or being resumed)
    compare_requested: Any  # a Signal

    def config(self) -> TuneConfig: ...
    def background(self, fn, on_success, on_failure) -> BackgroundCall: ...


PREVIEW_ROWS = 5


class BasePage(QWizardPage):
    def __init__(self, wizard: WizardParts):
        super().__init__()
        self.w = wizard
        self.setTitle("Base model")
        self.setSubTitle("A GGUF model from the library (dequantized for training), or a "
                         "Hugging Face folder with safetensors weights.")
        self.model = QComboBox(editable=True)
        for known in wizard.service.models.list_models():
            self.model.addItem(known.name, str(known.path))
        folder = QPushButton("Hugging Face folder…")
        folder.clicked.connect(self._pick_folder)
        self.info = QLabel(wordWrap=True)
        self._chosen = ""
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(folder)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.info)
        layout.addStretch()
        self.model.currentIndexChanged.connect(lambda _: self.choose(self._current()))
        self.model.lineEdit().editingFinished.connect(lambda: self.choose(self._current()))

    def initializePage(self) -> None:
        if self.w.base is None and self.model.count():
            self.choose(self._current())

    def _current(self) -> str:
        """The chosen item's path, or what the user typed."""
        typed, index = self.model.currentText(), self.model.currentIndex()
        return self.model.itemData(index) if typed == self.model.itemText(index) else typed

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Hugging Face model folder")
        if folder:
            self.model.setEditText(folder)
            self.choose(folder)

    def choose(self, name_or_path: str) -> None:
        if not name_or_path or name_or_path == self._chosen:
            return  # editingFinished also fires when focus merely leaves the box
        self._chosen = name_or_path
        self.w.base = None
        self.info.setText("Reading the model…")
        self.completeChanged.emit()
        self.w.background(lambda: self.w.service.inspect_base(name_or_path), self._shown,
                          self._failed)

    def _shown(self, base) -> None:
        self.w.base = base
        self.info.setText(f"{base.name}: {base.model_type}, {base.parameter_count / 1e6:.0f}M "
                          f"parameters, {base.n_layers} layers ({base.kind})")
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self._chosen = ""
        self.info.setText(f"<span style='color:#b00'>{escape(message)}</span>")

    def isComplete(self) -> bool:
        return self.w.base is not None


class DataPage(QWizardPage):
    planned = Signal()

    def __init__(self, wizard: WizardParts):
        super().__init__()
        self.w = wizard
        self.setTitle("Training data")
        self.setSubTitle("JSONL, JSON, CSV or a table an importer plugin reads (chat messages, "
                         "instruction/input/output or prompt/completion), or this session's "
                         "examples and rated outputs.")
        files = self.import_button = QPushButton("Import files…")
        files.clicked.connect(self._pick_files)
        session = QPushButton("Use this session's examples and rated outputs")
        session.setEnabled(wizard.session_id is not None)
        session.clicked.connect(self.use_session)
        self.summary = QLabel(wordWrap=True)
        self.preview = QTextEdit(readOnly=True)
        self.problems = QListWidget()
        self.histogram = Histogram()
        buttons = QHBoxLayout()
        buttons.addWidget(files)
        buttons.addWidget(session)
        buttons.addStretch()
        grid = QGridLayout(self)
        grid.addLayout(buttons, 0, 0, 1, 2)
        grid.addWidget(self.summary, 1, 0, 1, 2)
        grid.addWidget(QLabel("Rows as the model sees them (trained part in bold):"), 2, 0)
        grid.addWidget(QLabel("Left out:"), 2, 1)
        grid.addWidget(self.preview, 3, 0, 2, 1)
        grid.addWidget(self.problems, 3, 1)
        grid.addWidget(self.histogram, 4, 1)

    def _pick_files(self) -> None:
        # tuning's own formats and every table an importer plugin reads
        patterns = " ".join(f"*{suffix}" for suffix in self.w.service.data_suffixes())
        paths, _ = QFileDialog.getOpenFileNames(self, "Training data", "",
                                                f"Training data ({patterns})")
        if paths:
            self.import_files(paths)

    def import_files(self, paths) -> None:
        self._load(lambda: self.w.service.import_files(paths))

    def use_session(self) -> None:
        self._load(lambda: self.w.service.session_examples(self.w.session_id))

    def _load(self, read) -> None:
        self.w.plan = None
        self.summary.setText("Reading and tokenizing…")
        self.completeChanged.emit()
        config, base = self.w.config(), self.w.base

        def work():
            imported = read()
            return imported, self.w.service.plan(config, imported, base)

        self.w.background(work, self._planned, self._failed)

    def _planned(self, result) -> None:
        self.w.imported, self.w.plan = result
        plan = self.w.plan
        self.summary.setText(f"{plan.examples} examples: {len(plan.train)} for training, "
                             f"{len(plan.val)} held out for validation, "
                             f"{len(plan.problems)} left out.")
        self.problems.clear()
        self.problems.addItems([str(p) for p in plan.problems])
        self.histogram.set_histogram(plan.histogram)
        self.preview.setHtml("<hr>".join(_row_html(r) for r in plan.rows[:PREVIEW_ROWS]))
        self.completeChanged.emit()
        self.planned.emit()

    def _failed(self, message: str) -> None:
        self.summary.setText(f"<span style='color:#b00'>{escape(message)}</span>")
        self.planned.emit()

    def isComplete(self) -> bool:
        return self.w.plan is not None and bool(self.w.plan.train)


def _row_html(row) -> str:
    """The rendered row with trained tokens in bold (spans are token ranges of the text)."""
    trained = row.text[len(row.prompt_text):] if row.prompt_text else row.text
    return (f"<pre style='white-space:pre-wrap'>{escape(row.prompt_text)}"
            f"<b>{escape(trained)}</b></pre>"
            f"<small>{counted(len(row.ids), 'token')}"
            f"{' (cut to max length)' if row.truncated else ''}"
            f"</small>")


class SettingsPage(QWizardPage):
    def __init__(self, wizard: WizardParts):
        super().__init__()
        self.w = wizard
        self.setTitle("Settings")
        self.setSubTitle("Start from a preset; the estimate updates as you change settings.")
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.name = QLineEdit(placeholderText="adapter name (default: base name + -lora)")
        def spin(kind, low, high, step=None, decimals=None):
            box = kind()
            box.setRange(low, high)
            if decimals is not None:
                box.setDecimals(decimals)
            if step is not None:
                box.setSingleStep(step)
            return box

        self.rank, self.batch, self.accum = (spin(QSpinBox, 1, 256) for _ in range(3))
        self.max_length, self.max_steps = spin(QSpinBox, 8, 32768), spin(QSpinBox, 0, 10**6)
        self.seed = spin(QSpinBox, 0, 2**31 - 1)
        self.max_steps.setSpecialValueText("by epochs")
        self.alpha, self.epochs = spin(QDoubleSpinBox, 0.5, 1024), spin(QDoubleSpinBox, 0.1, 100)
        self.dropout = spin(QDoubleSpinBox, 0, 0.9, 0.05)
        self.lr = spin(QDoubleSpinBox, 1e-6, 1e-1, 1e-4, 6)
        self.targets = {name: QCheckBox(name) for name in ALL_LINEAR}
        self.merge = QCheckBox("Also write a merged full GGUF (GGUF bases)")
        self.where = WhereBox(wizard.service.ray_version())
        self.where.changed.connect(self._update_estimate)
        self.estimate = QLabel(wordWrap=True)
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Name", self.name)
        targets = QHBoxLayout()
        for box in self.targets.values():
            targets.addWidget(box)
        for label, widget in (("LoRA rank", self.rank), ("Alpha", self.alpha),
                              ("Dropout", self.dropout), ("Learning rate", self.lr),
                              ("Epochs", self.epochs), ("Max steps", self.max_steps),
                              ("Batch size", self.batch), ("Gradient accumulation", self.accum),
                              ("Max length (tokens)", self.max_length), ("Seed", self.seed)):
            form.addRow(label, widget)
            widget.valueChanged.connect(self._update_estimate)
        form.addRow("Target modules", targets)
        form.addRow(self.merge)
        form.addRow(self.where)
        form.addRow(self.estimate)
        for box in self.targets.values():
            box.toggled.connect(self._update_estimate)
        self.preset.currentTextChanged.connect(self.apply_preset)
        self.apply_preset(self.preset.currentText())

    def apply_preset(self, name: str) -> None:
        s = PRESETS[name]
        self.rank.setValue(s.rank)
        self.alpha.setValue(s.alpha)
        self.dropout.setValue(s.dropout)
        self.lr.setValue(s.learning_rate)
        self.epochs.setValue(s.epochs)
        self.max_steps.setValue(s.max_steps or 0)
        self.batch.setValue(s.batch_size)
        self.accum.setValue(s.grad_accum)
        self.max_length.setValue(s.max_length)
        self.seed.setValue(s.seed)
        for target, box in self.targets.items():
            box.setChecked(target in s.targets)

    def settings(self) -> TuneSettings:
        base = PRESETS[self.preset.currentText()]
        return replace(base, rank=self.rank.value(), alpha=self.alpha.value(),
                       dropout=self.dropout.value(), learning_rate=self.lr.value(),
                       epochs=self.epochs.value(), max_steps=self.max_steps.value() or None,
                       batch_size=self.batch.value(), grad_accum=self.accum.value(),
                       max_length=self.max_length.value(), seed=self.seed.value(),
                       targets=tuple(t for t, b in self.targets.items() if b.isChecked()))

    def initializePage(self) -> None:
        self._update_estimate()

    def _update_estimate(self, *_):
        if self.w.plan is None or self.w.base is None:
            return
        try:
            config = self.w.config()
            config.settings.validate()
            config.where.validate()
            self.estimate.setText("Estimate: " + self.w.service.estimate(
                config, self.w.plan, self.w.base).describe())
        except Exception as error:  # noqa: BLE001 - shown, not raised, while typing
            self.estimate.setText(f"<span style='color:#b00'>{escape(str(error))}</span>")


class TrainPage(QWizardPage):
    def __init__(self, wizard: WizardParts):
        super().__init__()
        self.w = wizard
        self.setTitle("Training")
        self.setSubTitle("A trainer process runs the job; cancel keeps a checkpoint to resume.")
        self.bridge = JobBridge(self)  # the tune run's events and end, in the GUI thread
        self.bridge.partial.connect(self.on_event)
        self.bridge.finished.connect(self._ended)
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.status = QLabel("Not started.", wordWrap=True)
        self.plot = LossPlot()
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)

    def start(self) -> None:
        self.start_button.setEnabled(False)
        self.plot.reset()
        self.status.setText("Preparing the data and starting the trainer…")
        w, config = self.w, self.w.config()
        resume = w.job is not None and w.job.status in ("cancelled", "failed")
        job_id = w.job.id if resume else None

        def launch():
            if job_id:
                return w.service.resume(job_id, self.bridge.watcher)
            return w.service.start(config, w.service.plan(config, w.imported, w.base),
                                   self.bridge.watcher)

        w.background(launch, self._started, self._failed)

    def cancel(self) -> None:
        if self.w.run is not None:
            self.w.run.cancel()

    def offer_resume(self, job) -> None:
        name = job.config.get("name") or job.id[:8]
        self.plot.reset()
        steps = str(job.artifacts.get("total_steps", ""))
        self.plot.total_steps = int(steps) if steps.isdigit() else 0
        for point in job.metrics:
            if point.name in self.plot.series:
                self.plot.add(point.name, point.step, point.value)
        self.status.setText(escape(f"{name}: {job.error or 'the job was ' + job.status}"))
        self.start_button.setText("Resume")

    def _started(self, run) -> None:
        self.w.run = run
        self.cancel_button.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b00'>{escape(message)}</span>")
        self.start_button.setEnabled(True)

    def on_event(self, event) -> None:
        if event.event == "start":
            self.plot.total_steps = int(event.get("total_steps") or 0)
            # Which device trains (and, on the CPU, why): until the first step replaces it.
            note = event.get("device_note") or "Training started."
            if event.get("place") == "ray":
                note = (f"On Ray at {event.get('ray_address')}: {event.get('workers')} workers "
                        f"({event.get('ray_devices')}), Ray job {event.get('ray_job_id')}.")
            self.status.setText(escape(note))
        elif event.event == "step":
            self.plot.add("loss", event.step, event.get("loss"))
            eta = int(event.get("eta_s") or 0)
            self.status.setText(f"Step {event.step} of {self.plot.total_steps} · loss "
                                f"{event.get('loss'):.3f} · {event.get('tokens_per_second'):.0f} "
                                f"tokens/s{_workers(event)} · {eta // 60}:{eta % 60:02d} left")
        elif event.event == "eval":
            self.plot.add("eval_loss", event.step, event.get("eval_loss"))

    def _ended(self, state) -> None:
        if state.outcome is not None:  # the stored job: done, cancelled or failed
            self.on_finished(state.outcome)
        else:
            self.cancel_button.setEnabled(False)
            self.status.setText(escape(state.error or "The tune job failed."))

    def on_finished(self, job) -> None:
        self.w.job = job
        self.cancel_button.setEnabled(False)
        if job.status == "done":
            self.status.setText("Done: the adapter is exported and in the library.")
        else:
            self.status.setText(escape(job.error or f"The job was {job.status}; Start resumes "
                                                    "it from its last checkpoint."))
            self.start_button.setText("Resume")
            self.start_button.setEnabled(True)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.w.job is not None and self.w.job.status == "done"


def _workers(event) -> str:
    workers = int(event.get("workers") or 1)
    return f" · {workers} workers" if workers > 1 else ""


class ExportPage(QWizardPage):
    def __init__(self, wizard: WizardParts):
        super().__init__()
        self.w = wizard
        self.setTitle("Export and compare")
        self.summary = QLabel(wordWrap=True, textInteractionFlags=Qt.TextSelectableByMouse)
        self.compare_button = QPushButton("Compare base and adapter (×1, ×0.5) in the grid")
        self.compare_button.clicked.connect(wizard.compare_requested)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.compare_button)
        layout.addStretch()

    def initializePage(self) -> None:
        artifacts = self.w.job.artifacts
        lines = ["GGUF LoRA adapter (registered in the library next to its base model):\n"
                 + str(artifacts.get("adapter_gguf"))]
        if artifacts.get("merged_gguf"):
            lines.append(f"Merged model: {artifacts['merged_gguf']}")
        self.summary.setText("\n\n".join(lines))
