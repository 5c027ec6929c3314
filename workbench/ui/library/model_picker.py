"""Toolbar widgets to choose and load a model: name, context size, GPU layers, chat template,
state.

Picking a model in the bar loads it (off the GUI thread, as a job: the state says "Loading
43% · NAME" as llama.cpp reads the weights, and Cancel stops it, keeping the model in use) for
the composer, the chat and the token counts, and makes it the default model of new variants.
A variant row keeps its own model: the bar never changes a row that exists. *Reload* loads
the same model again with the context, GPU-layer and engine settings typed in the bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...core.base_model import RAW_TEMPLATE
from ...core.chat_template import TemplateChoice, describe_source, template_label
from ...core.engine_flags import parse_engine_flags
from ...core.errors import SettingsError
from ...core.job_state import JobProgress
from ...core.model_info import ModelMetadata, describe_engine, human_count
from ...services.library import ModelNames
from ..base_model_notice import BaseModelNotice
from ..compose.template_dialog import TemplateDialog
from ..elided_label import ElidedCombo, ElidedLabel
from ..model_controller import ModelController

NAME_CHARS = 24  # the combo's width in characters: a longer name elides, whole in its tooltip
PICK_TIP = ("Picking a model loads it (for the composer, the chat and token counts) and new "
            "variants start with it; each variant row keeps its own model.")


class ModelPicker(QWidget):
    def __init__(self, controller: ModelController, parent=None):
        super().__init__(parent)
        self.controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.names = ModelNames()  # the window gives the library's (set_models)
        self.model_label = QLabel("Default model:")
        self.model_label.setToolTip(PICK_TIP)
        layout.addWidget(self.model_label)
        self.combo = ElidedCombo()
        # As wide as NAME_CHARS, whatever the names: a long one must not widen the window.
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(NAME_CHARS)
        self.combo.setToolTip(PICK_TIP)
        self.combo.activated.connect(lambda _index: self.load())  # the user's pick only
        self.combo.currentIndexChanged.connect(lambda _index: self._show_choice_tooltip())
        layout.addWidget(self.combo)
        layout.addWidget(QLabel("Context:"))
        self.n_ctx = QSpinBox(minimum=256, maximum=262144, singleStep=1024, value=4096)
        layout.addWidget(self.n_ctx)
        layout.addWidget(QLabel("GPU layers:"))
        self.gpu_layers = QSpinBox(minimum=-1, maximum=999, value=-1)
        self.gpu_layers.setSpecialValueText("auto")
        self.gpu_layers.setToolTip("auto: all layers when they fit in free VRAM, else as many "
                                   "as fit (the model's status says why); 0 on a CPU-only "
                                   "llama.cpp")
        layout.addWidget(self.gpu_layers)
        layout.addWidget(QLabel("Engine:"))
        self.engine = QLineEdit()
        self.engine.setPlaceholderText("llama.cpp defaults")
        self.engine.setMinimumWidth(150)
        self.engine.setToolTip(
            "llama.cpp's flags, as on a llama-server command line: -fa auto|on|off (flash "
            "attention), -ctk/-ctv f16|q8_0|q4_0… (K/V cache), -b 2048 / -ub 512 (batch, "
            "micro-batch), -np N (requests decoded together; 4 on the CPU, 8 on a GPU). They "
            "change the arithmetic and are recorded with every output.")
        self.engine.returnPressed.connect(self.load)
        layout.addWidget(self.engine)
        self.load_button = QPushButton("Reload")
        self.load_button.setToolTip("Load the chosen model again with this context, GPU-layer "
                                    "and engine settings")
        layout.addWidget(self.load_button)
        self.template_button = QPushButton("Template…")
        self.template_button.setToolTip("The chat template of the selected model: the file's "
                                        "own, one of llama.cpp's built-ins, or your own Jinja")
        self.template_button.clicked.connect(lambda: self.choose_template())
        layout.addWidget(self.template_button)
        self.template_dialog: TemplateDialog | None = None
        # Long: elided, whole on hover; it leaves the bar's other fields their room.
        self.state = ElidedLabel("No model loaded", preferred_chars=60)
        layout.addWidget(self.state, 1)
        self.base_notice = BaseModelNotice(compact=True)  # one click to raw completion
        self.base_notice.use_raw.connect(self.use_raw_completion)
        layout.addWidget(self.base_notice)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop loading this model; the model in use stays")
        self.cancel_button.clicked.connect(controller.cancel_load)
        self.cancel_button.hide()  # shown while a model loads
        layout.addWidget(self.cancel_button)
        self.load_button.clicked.connect(lambda: self.load())
        self._loading_name = ""
        controller.loading.connect(self._on_loading)
        controller.progress.connect(self._on_progress)
        controller.loaded.connect(self._on_loaded)
        controller.failed.connect(self._on_failed)
        controller.cancelled.connect(self._on_cancelled)

    def set_models(self, references: list[str], current: str | None = None,
                   names: ModelNames | None = None) -> None:
        """Offer these models (library names, or paths), each shown by its one name;
        ``current`` stays chosen (added when the list lacks it). Nothing loads."""
        if names is not None:
            self.names = names
        references = list(references)
        if current and current not in references:
            references.append(current)
        self.combo.blockSignals(True)
        self.combo.clear()
        for reference in references:
            name = self.names.of(reference)
            self.combo.addItem(name, reference)
            self.combo.setItemData(self.combo.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        if current:
            self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        self.combo.blockSignals(False)
        # The list opens as wide as its longest name, whatever the combo's width.
        self.combo.view().setMinimumWidth(self.combo.view().sizeHintForColumn(0) + 24)
        self._show_choice_tooltip()

    def references(self) -> list[str]:
        """What each offered model is loaded by (a library name, or a path)."""
        return [self.combo.itemData(i) or self.combo.itemText(i)
                for i in range(self.combo.count())]

    def chosen(self) -> str | None:
        """The chosen model as it is loaded by (a library name, or a path)."""
        return self.combo.currentData() or self.combo.currentText() or None

    def _show_choice_tooltip(self) -> None:
        name = self.combo.currentText()
        self.combo.setToolTip(f"{name}\n\n{PICK_TIP}" if name else PICK_TIP)

    def engine_settings(self) -> dict:
        """The engine flags typed in the bar (SettingsError names a bad one)."""
        return parse_engine_flags(self.engine.text())

    def load(self) -> None:
        layers = self.gpu_layers.value()
        try:
            engine = self.engine_settings()
        except SettingsError as error:
            self._set_state(str(error), busy=False)
            return
        self.controller.load(self.chosen(), self.n_ctx.value(), None if layers < 0 else layers,
                             engine)

    def choose_template(self) -> None:
        """Open the template dialog for the selected model (what it is loaded with preselected)."""
        name = self.chosen()
        host = self.controller.host
        current, note = None, ""
        if host is not None and self.controller.name == name:
            s = host.settings
            current = (TemplateChoice(jinja=s.template_jinja) if s.template_jinja is not None
                       else TemplateChoice(name=s.template_name) if s.template_name else None)
            meta = host.metadata
            note = "Now: " + describe_source(meta.chat_template_source,
                                             meta.file_has_chat_template, meta.architecture)
        self.template_dialog = TemplateDialog(self.names.of(name), current, note, self)
        self.template_dialog.accepted.connect(lambda: self._template_chosen(name))
        self.template_dialog.open()  # window-modal, without a nested event loop

    def _template_chosen(self, name: str | None) -> None:
        self.apply_template(name, self.template_dialog.choice())

    def use_raw_completion(self) -> None:
        """The base-model notice's button: the file's template becomes raw, and it reloads."""
        self.apply_template(self.controller.name, TemplateChoice(name=RAW_TEMPLATE))

    def apply_template(self, name: str | None, choice: TemplateChoice | None) -> None:
        layers = self.gpu_layers.value()
        try:
            engine = self.engine_settings()
        except SettingsError as error:
            self._set_state(str(error), busy=False)
            return
        self.controller.choose_template(name, choice, self.n_ctx.value(),
                                        None if layers < 0 else layers, engine)

    def _on_loading(self, name: str) -> None:
        # The model's one name (a path loads as its file's name); the controller says "the
        # bundled model" for none.
        self._loading_name = name if name == "the bundled model" else self.names.of(name)
        self._set_state(f"Loading {self._loading_name}…", busy=True)

    def _on_progress(self, progress: JobProgress) -> None:
        """"Loading 43% · NAME": how far llama.cpp has read the weights, first, so that a
        narrow bar elides the name rather than the figure."""
        if progress.fraction is not None:
            self.state.setText(f"Loading {progress.fraction:.0%} · {self._loading_name}")

    def _on_cancelled(self) -> None:
        """The model loaded before (if any) is still the one in use: the bar says so again."""
        meta = self.controller.metadata
        if meta is None:
            self._set_state("Load cancelled", busy=False)
            return
        index = self.combo.findData(self.controller.name)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        self._on_loaded(meta)

    def _on_loaded(self, meta: ModelMetadata) -> None:
        self.base_notice.show_for_loaded(meta)
        offload = (f"GPU {meta.gpu_layers_offloaded}/{meta.n_layers + 1} layers"
                   if meta.offload_supported else "CPU only")
        template = template_label(meta.chat_template_source, meta.file_has_chat_template)
        self._set_state(f"● {self.names.of(meta.path)} · {human_count(meta.parameter_count)} · "
                        f"{meta.quantization} · ctx {meta.n_ctx:,} · {offload} · "
                        f"{meta.engine.get('n_parallel', 1)} parallel · template: {template}",
                        busy=False)
        why = describe_source(meta.chat_template_source, meta.file_has_chat_template,
                              meta.architecture)
        offload_why = f"\nGPU offload: {meta.offload_reason}" if meta.offload_reason else ""
        threads = meta.engine.get("threads_reason")  # why this many CPU threads (a busy machine)
        threads_why = f"\nThreads: {threads}" if threads else ""
        gguf = ModelNames.detail(meta.name)
        self.state.set_detail(f"{gguf}\nEngine: {describe_engine(meta.engine)}\n"
                              f"Chat template: {why}{offload_why}{threads_why}".lstrip("\n"))

    def _on_failed(self, message: str) -> None:
        # The whole reason (e.g. "not enough GPU memory …; try --gpu-layers 12") on hover.
        self._set_state("Load failed", busy=False)
        self.state.set_detail(message)

    def _set_state(self, text: str, busy: bool) -> None:
        self.state.setText(text)
        if busy or not text.startswith("●"):
            self.state.set_detail("")  # the details belong to the model it described
        self.load_button.setEnabled(not busy)
        self.combo.setEnabled(not busy)  # one load at a time: a pick waits for it
        self.cancel_button.setVisible(busy)
