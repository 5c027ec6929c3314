"""New set… and Change chunking…: a set's name and scope, and how its documents are cut."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
)

from ...core.retrieval import CHUNK_STRATEGIES, EMBEDDING_WINDOW, ChunkingSpec

STRATEGY_NAMES = {
    "tokens": "Fixed size in the model's tokens",
    "headings": "Markdown headings (one section a chunk)",
    "sentences": "Sentences, packed up to the size",
    "paragraphs": "Paragraphs, packed up to the size",
}


class SetDialog(QDialog):
    """``name_needed``: a new set (name and scope asked); else only the chunking changes."""

    def __init__(self, parent=None, *, chunking: ChunkingSpec | None = None,
                 name_needed: bool = True, has_session: bool = True):
        super().__init__(parent)
        self.setWindowTitle("New document set" if name_needed else "Change chunking")
        chunking = chunking or ChunkingSpec()
        self.name_edit = QLineEdit(placeholderText="e.g. product-docs")
        # A set is the library's by default: the next session (and every other) can use
        # the documents the user just added; ticked, only this session lists it.
        self.session_only = QCheckBox("Only in this session (else every session can use it)")
        self.session_only.setChecked(False)
        self.session_only.setEnabled(has_session)
        self.strategy = QComboBox()
        for strategy in CHUNK_STRATEGIES:
            self.strategy.addItem(STRATEGY_NAMES.get(strategy, strategy), strategy)
        self.strategy.setCurrentIndex(max(0, self.strategy.findData(chunking.strategy)))
        self.size = QSpinBox(suffix=" tokens")
        self.size.setRange(16, EMBEDDING_WINDOW)  # a longer chunk is embedded from its start only
        self.size.setToolTip(f"At most {EMBEDDING_WINDOW} tokens: the text a chunk's embedding is "
                             "made from")
        self.size.setValue(chunking.size)
        self.overlap = QSpinBox(suffix=" tokens")
        self.overlap.setRange(0, 4096)
        self.overlap.setValue(chunking.overlap)
        self.note = QLabel("")
        self.note.setStyleSheet("color:#611a15;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        form = QFormLayout(self)
        if name_needed:
            form.addRow("Name", self.name_edit)
            form.addRow("", self.session_only)
        else:
            self.name_edit.hide()
            self.session_only.hide()
        form.addRow("Chunking", self.strategy)
        form.addRow("Size", self.size)
        form.addRow("Overlap", self.overlap)
        form.addRow(self.note)
        form.addRow(self.buttons)
        self.name_needed = name_needed
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.strategy.currentIndexChanged.connect(self._strategy_changed)
        self._strategy_changed()

    def _strategy_changed(self) -> None:
        strategy = self.strategy.currentData()
        # Overlap is a token window's; headings cut where the author did (size still caps).
        self.overlap.setEnabled(strategy == "tokens")

    def chunking(self) -> ChunkingSpec:
        strategy = self.strategy.currentData()
        overlap = self.overlap.value() if strategy == "tokens" else 0
        return ChunkingSpec(strategy=strategy, size=self.size.value(), overlap=overlap)

    def name(self) -> str:
        return self.name_edit.text().strip()

    def problem(self) -> str:
        if self.name_needed and not self.name():
            return "Give the set a name."
        spec = self.chunking()
        if spec.strategy == "tokens" and spec.overlap >= spec.size:
            return f"The overlap ({spec.overlap}) must be smaller than the size ({spec.size})."
        return ""

    def _accept(self) -> None:
        problem = self.problem()
        if problem:
            self.note.setText(problem)
            return
        self.accept()
