"""Toolbar widgets to choose and load a model: name, context size, GPU layers, chat template,
state."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...core.chat_template import TemplateChoice, describe_source, template_label
from ...core.engine_flags import parse_engine_flags
from ...core.errors import SettingsError
from ...core.model_info import ModelMetadata, describe_engine, human_count
from ..compose.template_dialog import TemplateDialog
from ..model_controller import ModelController


class ModelPicker(QWidget):
    def __init__(self, controller: ModelController, parent=None):
        super().__init__(parent)
        self.controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Model:"))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(220)
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
        self.load_button = QPushButton("Load")
        layout.addWidget(self.load_button)
        self.template_button = QPushButton("Template…")
        self.template_button.setToolTip("The chat template of the selected model: the file's "
                                        "own, one of llama.cpp's built-ins, or your own Jinja")
        self.template_button.clicked.connect(lambda: self.choose_template())
        layout.addWidget(self.template_button)
        self.template_dialog: TemplateDialog | None = None
        self.state = QLabel("No model loaded")
        layout.addWidget(self.state)
        self.load_button.clicked.connect(lambda: self.load())
        controller.loading.connect(lambda name: self._set_state(f"Loading {name}…", busy=True))
        controller.loaded.connect(self._on_loaded)
        controller.failed.connect(self._on_failed)

    def set_models(self, names: list[str], current: str | None = None) -> None:
        self.combo.clear()
        self.combo.addItems(names)
        if current and current in names:
            self.combo.setCurrentText(current)

    def chosen(self) -> str | None:
        return self.combo.currentText() or None

    def engine_settings(self) -> dict:
        """The engine flags typed in the bar (SettingsError names a bad one)."""
        return parse_engine_flags(self.engine.text())

    def load(self) -> None:
        layers = self.gpu_layers.value()
        try:
            engine = self.engine_settings()
        except SettingsError as error:
            self._set_state(str(error), busy=False)
            self.state.setToolTip(str(error))
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
        self.template_dialog = TemplateDialog(name or "the bundled model", current, note, self)
        self.template_dialog.accepted.connect(lambda: self._template_chosen(name))
        self.template_dialog.open()  # window-modal, without a nested event loop

    def _template_chosen(self, name: str | None) -> None:
        layers = self.gpu_layers.value()
        try:
            engine = self.engine_settings()
        except SettingsError as error:
            self._set_state(str(error), busy=False)
            return
        self.controller.choose_template(name, self.template_dialog.choice(), self.n_ctx.value(),
                                        None if layers < 0 else layers, engine)

    def _on_loaded(self, meta: ModelMetadata) -> None:
        offload = (f"GPU {meta.gpu_layers_offloaded}/{meta.n_layers + 1} layers"
                   if meta.offload_supported else "CPU only")
        template = template_label(meta.chat_template_source, meta.file_has_chat_template)
        self._set_state(f"● {Path(meta.path).stem} · {human_count(meta.parameter_count)} · "
                        f"{meta.quantization} · ctx {meta.n_ctx:,} · {offload} · "
                        f"{meta.engine.get('n_parallel', 1)} parallel · template: {template}",
                        busy=False)
        why = describe_source(meta.chat_template_source, meta.file_has_chat_template,
                              meta.architecture)
        offload_why = f"\nGPU offload: {meta.offload_reason}" if meta.offload_reason else ""
        self.state.setToolTip(f"Engine: {describe_engine(meta.engine)}\nChat template: {why}"
                              f"{offload_why}")

    def _on_failed(self, message: str) -> None:
        # The whole reason (e.g. "not enough GPU memory …; try --gpu-layers 12") on hover.
        self._set_state("Load failed", busy=False)
        self.state.setToolTip(message)

    def _set_state(self, text: str, busy: bool) -> None:
        self.state.setText(text)
        self.load_button.setEnabled(not busy)
