"""A variant's retrieval in the variants table: a button reading "hybrid k=4 · handbook" that
opens a small editor (document set, mode, k). Retrieval is a variant setting, so one grid can
hold none vs BM25 vs hybrid over the same cases."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPushButton,
    QWidget,
)

from ...core.retrieval import RetrievalSettings
from ..compose.retrieval_section import (
    chosen_settings,
    describe,
    fill_set_combo,
    k_spin,
    mode_combo,
)


class RetrievalDialog(QDialog):
    def __init__(self, settings: RetrievalSettings, sets: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Variant retrieval")
        form = QFormLayout(self)
        self.set_combo = QComboBox()
        fill_set_combo(self.set_combo, sets, settings.set_name)
        self.mode_combo = mode_combo(settings.mode)
        self.k_spin = k_spin(settings.k)
        form.addRow("Document set", self.set_combo)
        form.addRow("Mode", self.mode_combo)
        form.addRow("k (chunks)", self.k_spin)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._floor = settings.score_floor

    def settings(self) -> RetrievalSettings:
        return chosen_settings(self.set_combo, self.mode_combo, self.k_spin, self._floor)


class RetrievalButton(QPushButton):
    edited = Signal()

    def __init__(self, settings: RetrievalSettings | None, sets: Callable[[], list[str]],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.sets = sets
        self.dialog: RetrievalDialog | None = None
        self.setToolTip("Which document set fills {{ context }} for this variant, how "
                        "(none, BM25, dense, hybrid) and how many chunks")
        self.set_settings(settings or RetrievalSettings())
        self.clicked.connect(self.edit)

    def set_settings(self, settings: RetrievalSettings) -> None:
        self._settings = settings
        self.setText(describe(settings))
        self.setStyleSheet("text-align:left; padding-left:4px")  # a narrow cell keeps the mode

    def settings(self) -> RetrievalSettings:
        return self._settings

    def edit(self) -> RetrievalDialog:
        """Open the editor (window-modal, not blocking): OK applies, Cancel leaves it."""
        self.dialog = RetrievalDialog(self._settings, self.sets(), self)
        self.dialog.accepted.connect(lambda: self._apply(self.dialog.settings()))
        self.dialog.open()
        return self.dialog

    def _apply(self, settings: RetrievalSettings) -> None:
        if settings != self._settings:
            self.set_settings(settings)
            self.edited.emit()
