"""The variants to compare: each a prompt version × model × adapter × sampling settings."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.engine_flags import format_sampling_flags, parse_engine_flags, parse_sampling_flags
from ...core.prompts import PromptVersion
from ...core.retrieval import RetrievalSettings
from ...core.sampling import SamplingSettings
from ...core.session_variants import CURRENT_VERSION, SessionVariant
from ...services.evaluation.suite_providers import is_remote
from .retrieval_cell import RetrievalButton

CURRENT = CURRENT_VERSION
COLUMNS = ["Label", "Prompt version", "Model", "Adapter", "Scale", "Temperature", "Seed",
           "Max tokens", "Sampling", "Engine", "Retrieval"]
MODEL_COLUMN, SAMPLING_COLUMN, ENGINE_COLUMN, RETRIEVAL_COLUMN = 2, 8, 9, 10
MODEL_COLUMN_MAX = 200  # px: a longer name is cut in the box, whole on hover and in the list
# Shown in their own columns, so not repeated among the sampling flags.
OWN_COLUMNS = ("temperature", "seed", "max_tokens")
NO_ADAPTER = "none"
MODEL_TIP = ("A library model, or a plugin backend such as "
             "openai+http://127.0.0.1:8080/v1?model=NAME; a new row starts with the model "
             "bar's model")


class VariantsTable(QWidget):
    changed = Signal()  # a row was added or removed
    edited = Signal()  # anything the user can change: rows, or a value in a row's cells

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.versions: list[PromptVersion] = []
        self.models: list[tuple[str, str]] = []  # (the model's one name, what loads it)
        # The model a new row starts with: the model bar's choice (set by the window).
        self.default_model: Callable[[], str | None] = lambda: None
        self.adapters: list[tuple[str, str]] = []  # (name, GGUF LoRA path)
        self.retrieval_sets: list[str] = []  # document set names a variant can retrieve from
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # The Model column is as wide as the names it lists (up to a cap), not an eleventh of
        # the table: "smollm2-135m-" told nobody which model a row runs.
        self.table.horizontalHeader().setSectionResizeMode(
            MODEL_COLUMN, QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add variant")
        self.remove_button = QPushButton("Remove")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self.add_variant())
        self.remove_button.clicked.connect(self.remove_selected)

    def set_choices(self, versions: list[PromptVersion], models: list[str | tuple[str, str]],
                    adapters: list[tuple[str, str]] | None = None) -> None:
        """Refresh the combos (new versions saved, models added) keeping each row's choice.
        ``models``: library names, or (name, path) for a model loaded by its path."""
        self.versions = list(versions)
        self.models = [(m, m) if isinstance(m, str) else (m[0], m[1]) for m in models]
        if adapters is not None:
            self.adapters = list(adapters)
        self._fit_model_column()
        for row in range(self.table.rowCount()):
            version, model = self.version_choice(row), self.model_choice(row)
            adapter = self.adapter_choice(row)
            self._fill_version_combo(self.table.cellWidget(row, 1), version)
            self._fill_model_combo(self.table.cellWidget(row, 2), model)
            self._fill_adapter_combo(self.table.cellWidget(row, 3), adapter)

    def _fit_model_column(self) -> None:
        """Wide enough for the longest name offered, and for a combo's arrow."""
        metrics = self.table.fontMetrics()
        widest = max((metrics.horizontalAdvance(name) for name, _ in self.models), default=0)
        width = max(self.table.horizontalHeader().defaultSectionSize(), widest + 40)
        self.table.setColumnWidth(MODEL_COLUMN, min(width, MODEL_COLUMN_MAX))

    def add_variant(self, label: str | None = None, version: str = CURRENT,
                    model: str | None = None, temperature: float = 0.0, seed: int = 0,
                    max_tokens: int = 128, adapter: str | None = None,
                    adapter_scale: float = 1.0, sampling: SamplingSettings | None = None,
                    engine: str = "", retrieval: RetrievalSettings | None = None) -> None:
        """A row; ``sampling`` fills the Sampling column with its non-default settings,
        ``engine`` is llama.cpp flags for this variant (empty: the model bar's); without
        ``model``, the model bar's."""
        model = model or self.default_model()
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setCellWidget(row, 0, QLineEdit(label or f"Variant {row + 1}"))
        version_combo, model_combo = QComboBox(), QComboBox()
        model_combo.setEditable(True)  # remote models: type a backend reference
        # The whole name on hover: the column may cut it.
        model_combo.currentTextChanged.connect(
            lambda text, combo=model_combo: combo.setToolTip(
                f"{text}\n\n{MODEL_TIP}" if text else MODEL_TIP))
        self._fill_version_combo(version_combo, version)
        self._fill_model_combo(model_combo, model)
        self.table.setCellWidget(row, 1, version_combo)
        self.table.setCellWidget(row, 2, model_combo)
        adapter_combo = QComboBox()
        adapter_combo.setEditable(True)  # or a path to any GGUF LoRA
        adapter_combo.setToolTip("A LoRA adapter (GGUF) applied to this variant's model; "
                                 "variants of one model share one loaded copy")
        self._fill_adapter_combo(adapter_combo, adapter)
        self.table.setCellWidget(row, 3, adapter_combo)
        self.table.setCellWidget(row, 4, QDoubleSpinBox(
            minimum=-2.0, maximum=4.0, singleStep=0.25, value=adapter_scale,
            toolTip="How strongly the adapter applies (0: the base model's behaviour)"))
        self.table.setCellWidget(row, 5, QDoubleSpinBox(minimum=0.0, maximum=2.0,
                                                        singleStep=0.1, value=temperature))
        self.table.setCellWidget(row, 6, QSpinBox(minimum=-1, maximum=2**31 - 1, value=seed,
                                                  toolTip="-1: a new random seed each run"))
        self.table.setCellWidget(row, 7, QSpinBox(minimum=1, maximum=32768, value=max_tokens))
        flags = QLineEdit(format_sampling_flags(sampling, OWN_COLUMNS) if sampling else "")
        flags.setPlaceholderText("llama.cpp defaults")
        flags.setToolTip("Other sampler settings as llama.cpp flags: --top-k 40 --top-p 0.95 "
                         "--min-p 0.05 --repeat-penalty 1.0 --repeat-last-n 64 "
                         "--frequency-penalty 0 --presence-penalty 0. Every setting that "
                         "differs from llama.cpp's defaults is shown here.")
        self.table.setCellWidget(row, SAMPLING_COLUMN, flags)
        engine_edit = QLineEdit(engine)
        engine_edit.setPlaceholderText("as the model bar")
        engine_edit.setToolTip("Engine flags for this variant (-fa off -ctk q8_0 -b 512 …); "
                               "empty: the model bar's. Variants with the same settings share "
                               "one loaded model.")
        self.table.setCellWidget(row, ENGINE_COLUMN, engine_edit)
        self.table.setCellWidget(row, RETRIEVAL_COLUMN,
                                 RetrievalButton(retrieval, lambda: list(self.retrieval_sets)))
        self._watch(row)
        self.changed.emit()
        self.edited.emit()

    def _watch(self, row: int) -> None:
        """Every cell's edits reach ``edited`` (so the session's variants are saved)."""
        edited = self.edited
        for column in range(len(COLUMNS)):
            widget = self.table.cellWidget(row, column)
            if isinstance(widget, RetrievalButton):
                widget.edited.connect(edited.emit)
            elif isinstance(widget, QLineEdit):
                widget.textEdited.connect(lambda _text: edited.emit())
            elif isinstance(widget, QComboBox):
                widget.currentTextChanged.connect(lambda _text: edited.emit())
            else:  # the spin boxes
                widget.valueChanged.connect(lambda _value: edited.emit())

    def rows(self) -> list[SessionVariant]:
        """The rows as typed (flags as text, not parsed: they are judged when a run starts)."""
        return [SessionVariant(
            label=self.table.cellWidget(row, 0).text(), version=self.version_choice(row),
            model=self.model_choice(row), adapter=self.adapter_choice(row),
            adapter_scale=self.adapter_scale(row),
            temperature=self.table.cellWidget(row, 5).value(),
            seed=self.table.cellWidget(row, 6).value(),
            max_tokens=self.table.cellWidget(row, 7).value(),
            sampling_flags=self.table.cellWidget(row, SAMPLING_COLUMN).text(),
            engine_flags=self.table.cellWidget(row, ENGINE_COLUMN).text(),
            retrieval=self.retrieval(row),
        ) for row in range(self.table.rowCount())]

    def set_rows(self, variants) -> None:
        """Show these rows (a session's stored variants) without reporting them as edits."""
        self.blockSignals(True)
        try:
            self.table.setRowCount(0)
            for v in variants:
                self.add_variant(v.label, version=v.version, model=v.model,
                                 temperature=v.temperature, seed=v.seed,
                                 max_tokens=v.max_tokens, adapter=v.adapter,
                                 adapter_scale=v.adapter_scale, engine=v.engine_flags,
                                 retrieval=v.retrieval)
                self.table.cellWidget(self.table.rowCount() - 1, SAMPLING_COLUMN).setText(
                    v.sampling_flags)
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.changed.emit()
        self.edited.emit()

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()
            self.edited.emit()

    def count(self) -> int:
        return self.table.rowCount()

    def label(self, row: int) -> str:
        return self.table.cellWidget(row, 0).text().strip() or f"Variant {row + 1}"

    def version_choice(self, row: int) -> str:
        return self.table.cellWidget(row, 1).currentData() or CURRENT

    def model_choice(self, row: int) -> str | None:
        """A library model, or whatever the user typed (e.g. openai+http://host/v1?model=x)."""
        combo = self.table.cellWidget(row, 2)
        text = combo.currentText().strip()
        index = combo.findText(text) if text else -1
        return (combo.itemData(index) if index >= 0 else None) or text or None

    def adapter_choice(self, row: int) -> str | None:
        """The adapter's file: a library adapter's path, or a path the user typed."""
        combo = self.table.cellWidget(row, 3)
        text = combo.currentText().strip()
        if not text or text == NO_ADAPTER:
            return None
        index = combo.findText(text)
        return (combo.itemData(index) if index >= 0 else None) or text

    def adapter_scale(self, row: int) -> float:
        return self.table.cellWidget(row, 4).value()

    def sampling(self, row: int) -> SamplingSettings:
        """The row's sampler settings (SettingsError names a bad flag)."""
        seed = self.table.cellWidget(row, 6).value()
        values = {"temperature": self.table.cellWidget(row, 5).value(),
                  "max_tokens": self.table.cellWidget(row, 7).value()}
        if seed >= 0:
            values["seed"] = seed
        # a server is sent what the row sets (its own defaults apply to the rest); a local
        # model uses every setting either way
        base = SamplingSettings.given(values) if is_remote(self.model_choice(row) or "") else \
            SamplingSettings(**values)
        return parse_sampling_flags(self.table.cellWidget(row, SAMPLING_COLUMN).text(), base)

    def engine(self, row: int) -> dict:
        """The row's own engine settings (empty: the model bar's)."""
        return parse_engine_flags(self.table.cellWidget(row, ENGINE_COLUMN).text())

    def retrieval(self, row: int) -> RetrievalSettings:
        """Which document set fills the row's {{ context }}, how, how many."""
        return self.table.cellWidget(row, RETRIEVAL_COLUMN).settings()

    def set_retrieval_sets(self, names: list[str]) -> None:
        """The document sets the rows' retrieval editors offer (the session's and global)."""
        self.retrieval_sets = list(names)

    def _fill_version_combo(self, combo: QComboBox, chosen: str) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("current (editor)", CURRENT)
        for number, version in enumerate(self.versions, 1):
            note = f" · {version.note}" if version.note else ""
            combo.addItem(f"v{number}{note}", version.id)
        index = combo.findData(chosen)
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def _fill_model_combo(self, combo: QComboBox, chosen: str | None) -> None:
        _fill(combo, self.models, chosen)
        for index in range(combo.count()):  # a name the column cuts is whole on hover
            combo.setItemData(index, combo.itemText(index), Qt.ItemDataRole.ToolTipRole)
        # The list opens as wide as its longest name (it cut "gemma-…q4_k_m" to the column),
        # and the box shows a name from its start.
        combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)
        combo.lineEdit().setCursorPosition(0)
        text = combo.currentText()
        combo.setToolTip(f"{text}\n\n{MODEL_TIP}" if text else MODEL_TIP)

    def _fill_adapter_combo(self, combo: QComboBox, chosen_path: str | None) -> None:
        _fill(combo, [(NO_ADAPTER, None), *self.adapters], chosen_path)


def _fill(combo: QComboBox, items: list[tuple[str, str | None]], chosen: str | None) -> None:
    """Items as (text, data); a chosen value not among them is kept as an extra item."""
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    if chosen is not None and combo.findData(chosen) < 0:
        combo.addItem(chosen, chosen)
    index = combo.findData(chosen) if chosen is not None else 0
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
