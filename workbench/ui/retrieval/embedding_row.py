"""A set's embedding: which model its vectors came from (name, dimension, pooling), and
"Embed with [model]" to (re-)embed it with another — or finish an embedding that was cancelled.

The model list is the library's (listed off the GUI thread: listing scans folders); the
bundled model comes first and is the default, so a set can be embedded offline at once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from ...core.retrieval import DocumentSet
from ..job_bridges import run_in_background


def describe_embedding(doc_set: DocumentSet | None, name: str = "") -> str:
    """``name``: the library's name for the model file (else the GGUF's own)."""
    if doc_set is None:
        return ""
    space = doc_set.embedding
    if space is None:
        return "Embedding: none yet — dense and hybrid search need one"
    return f"Embedding: {name or space.model_name} · {space.dim}-dim · {space.pooling} pooling"


class EmbeddingRow(QWidget):
    embed_requested = Signal(str)  # the model's path

    def __init__(self, list_models: Callable[[], list] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._list_models = list_models
        self.label = QLabel("")
        self.embed_button = QPushButton("Embed with")
        self.embed_button.setToolTip("Compute the set's vectors with the chosen model (a set "
                                     "embedded with another model is re-embedded; a cancelled "
                                     "run continues where it stopped)")
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(18)
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.embed_button)
        row.addWidget(self.model_combo)
        self.embed_button.clicked.connect(self._embed)
        self._listed = False
        self.doc_set: DocumentSet | None = None

    def list_models(self) -> None:
        """Fill the combo once (on first show)."""
        if self._listed or self._list_models is None:
            return
        self._listed = True
        run_in_background(self._list_models, self, self.set_models,
                          lambda message: self.label.setText(message))

    def set_models(self, models: list) -> None:
        """``models``: the library's (``.name``, ``.path``, ``.source``); bundled first."""
        chosen = self.model_combo.currentData()
        ordered = sorted(models, key=lambda m: getattr(m, "source", "") != "bundled")
        self.model_combo.clear()
        for model in ordered:
            self.model_combo.addItem(model.name, str(model.path))
            self.model_combo.setItemData(self.model_combo.count() - 1, str(model.path),
                                         Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(chosen) if chosen else -1
        self.model_combo.setCurrentIndex(max(0, index))
        self.show_set(self.doc_set)  # the set's model by the library's name now

    def show_set(self, doc_set: DocumentSet | None) -> None:
        self.doc_set = doc_set
        index = -1
        if doc_set is not None and doc_set.embedding is not None:
            # Its own model is the one chosen: pressing again resumes a cancelled embedding.
            index = self.model_combo.findData(doc_set.embedding.model_path)
            if index >= 0:
                self.model_combo.setCurrentIndex(index)
        name = self.model_combo.itemText(index) if index >= 0 else ""
        self.label.setText(describe_embedding(doc_set, name))
        if doc_set is not None and doc_set.embedding is not None:
            self.label.setToolTip(f"{doc_set.embedding.model_path}\nsha256 "
                                  f"{doc_set.embedding.model_sha256}")
        else:
            self.label.setToolTip("")

    def _embed(self) -> None:
        path = self.model_combo.currentData()
        if path:
            self.embed_requested.emit(path)
        else:
            self.label.setText("No model to embed with: add one in the Models tab.")
