"""Toolbar widgets to choose and load a model: name, context size, GPU layers, state."""

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

from ..core.engine_flags import parse_engine_flags
from ..core.errors import SettingsError
from ..core.model_info import ModelMetadata, describe_engine, human_count
from .model_controller import ModelController


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
        self.gpu_layers.setToolTip("auto: all layers when this llama.cpp supports offload, else 0")
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
        self.state = QLabel("No model loaded")
        layout.addWidget(self.state)
        self.load_button.clicked.connect(lambda: self.load())
        controller.loading.connect(lambda name: self._set_state(f"Loading {name}…", busy=True))
        controller.loaded.connect(self._on_loaded)
        controller.failed.connect(lambda _m: self._set_state("Load failed", busy=False))

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

    def _on_loaded(self, meta: ModelMetadata) -> None:
        offload = (f"GPU {meta.gpu_layers_offloaded}/{meta.n_layers + 1} layers"
                   if meta.offload_supported else "CPU only")
        self._set_state(f"● {Path(meta.path).stem} · {human_count(meta.parameter_count)} · "
                        f"{meta.quantization} · ctx {meta.n_ctx:,} · {offload} · "
                        f"{meta.engine.get('n_parallel', 1)} parallel", busy=False)
        self.state.setToolTip(f"Engine: {describe_engine(meta.engine)}")

    def _set_state(self, text: str, busy: bool) -> None:
        self.state.setText(text)
        self.load_button.setEnabled(not busy)
