"""The Library panel: local models with what their GGUF files say, the Hub, and memory fit.

A standalone QWidget (the main window docks it). Reading metadata (≈2 s for a new file), hashing,
searching and downloading all run off the GUI thread; errors show in the banner.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.model_info import human_bytes, human_count
from ...services.library import LibraryModel, LibraryService
from ..banner import Banner
from ..job_bridges import BackgroundCall, run_in_background
from .hub_dialog import HubBrowser

COLUMNS = ["Name", "Architecture", "Parameters", "Quantization", "Size", "Context",
           "Chat template", "License", "Base model", "Source", "Path"]
MODEL_ROLE = Qt.ItemDataRole.UserRole


def model_cells(model: LibraryModel) -> list[str]:
    info = model.info
    if info is None:
        return [model.name, "unreadable", "", "", "", "", "", "", "", model.source,
                str(model.path)]
    return [
        model.name, info.architecture, human_count(info.parameter_count), info.quantization,
        human_bytes(info.file_size), f"{info.context_length:,}",
        "yes" if info.has_chat_template else "no", info.license or "—", info.base_model or "—",
        model.source + (f" ({model.repo})" if model.repo else ""), str(model.path),
    ]


class LibraryPanel(QWidget):
    models_changed = Signal(list)  # list[LibraryModel], after every refresh
    model_added = Signal(object)  # LibraryModel

    def __init__(self, service: LibraryService | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service or LibraryService()
        self.models: list[LibraryModel] = []
        self.setAcceptDrops(True)

        self.banner = Banner()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.add_file_button = QPushButton("Add file…")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove…")
        self.refresh_button = QPushButton("Refresh")
        self.remove_button.setEnabled(False)
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(256, 1_048_576)
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setValue(4096)
        self.n_ctx.setPrefix("n_ctx ")
        self.fit_label = QLabel("Select a model for a memory estimate.")
        self.fit_label.setWordWrap(True)
        self.usage_label = QLabel("")
        self.usage_label.setWordWrap(True)
        self.hint = QLabel("Drop .gguf files here to add them (they are not copied).")
        self.hint.setStyleSheet("color:#666;")

        buttons = QHBoxLayout()
        for button in (self.add_file_button, self.add_folder_button, self.remove_button,
                       self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        fit_row = QHBoxLayout()
        fit_row.addWidget(self.n_ctx)
        fit_row.addWidget(self.fit_label, 1)
        local = QWidget()
        local_layout = QVBoxLayout(local)
        local_layout.addLayout(buttons)
        local_layout.addWidget(self.table, 1)
        local_layout.addLayout(fit_row)
        local_layout.addWidget(self.usage_label)
        local_layout.addWidget(self.hint)
        self.hub = HubBrowser(self.service)
        self.tabs = QTabWidget()
        self.tabs.addTab(local, "Models")
        self.tabs.addTab(self.hub, "Hub")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        self.add_file_button.clicked.connect(self.choose_files)
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.remove_button.clicked.connect(self.remove_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.n_ctx.valueChanged.connect(lambda _: self.update_fit())
        self.hub.model_added.connect(self._downloaded)
        self.refresh()

    # -- background helper -----------------------------------------------------------------

    def _run(self, fn, on_success, on_failure=None) -> BackgroundCall:
        return run_in_background(fn, self, on_success, on_failure or (
            lambda message: self.banner.show_message(message)))

    # -- the table -------------------------------------------------------------------------

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        self._run(self.service.models, self._show_models,
                  lambda message: (self.banner.show_message(message),
                                   self.refresh_button.setEnabled(True)))

    def _show_models(self, models: list[LibraryModel]) -> None:
        self.refresh_button.setEnabled(True)
        selected = self.selected_model()
        self.models = models
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            for column, text in enumerate(model_cells(model)):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(MODEL_ROLE, row)
                if model.problem:
                    item.setToolTip(model.problem)
                self.table.setItem(row, column, item)
            if selected is not None and model.path == selected.path:
                self.table.selectRow(row)
        self.models_changed.emit(models)

    def selected_model(self) -> LibraryModel | None:
        rows = {i.row() for i in self.table.selectedItems()}
        return self.models[min(rows)] if rows and min(rows) < len(self.models) else None

    def select(self, name: str) -> None:
        for row, model in enumerate(self.models):
            if model.name == name:
                self.table.selectRow(row)
                return

    def _selection_changed(self) -> None:
        model = self.selected_model()
        self.remove_button.setEnabled(model is not None and model.source != "bundled")
        self.update_fit()

    # -- adding ----------------------------------------------------------------------------

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add GGUF models", "",
                                                "GGUF models (*.gguf)")
        self.add_files([Path(f) for f in files])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a folder of GGUF models")
        if folder:
            self.add_folder(Path(folder))

    def add_files(self, files: list[Path]) -> None:
        for file in files:
            self._run(lambda file=file: self.service.add_file(file), self._added)

    def add_folder(self, folder: Path) -> None:
        def watched(path: Path) -> None:
            self.banner.show_message(f"Watching {path}; its GGUF files are listed, not copied.",
                                     "info")
            self.refresh()

        self._run(lambda: self.service.watch_folder(folder), watched)

    def _added(self, model: LibraryModel) -> None:
        self.banner.hide()
        self.model_added.emit(model)
        self.refresh()

    def _downloaded(self, model: LibraryModel) -> None:
        self.model_added.emit(model)
        self.refresh()

    def dragEnterEvent(self, event) -> None:
        if any(u.toLocalFile().lower().endswith(".gguf") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls()
                 if u.toLocalFile().lower().endswith(".gguf")]
        if files:
            event.acceptProposedAction()
            self.add_files(files)

    # -- removing --------------------------------------------------------------------------

    def remove_selected(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        answer = self.confirm_remove(model)
        if answer is not None:
            self.remove(model, delete_file=answer)

    def confirm_remove(self, model: LibraryModel) -> bool | None:
        """None: cancelled; else whether to delete the file too (asked twice for a delete)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Remove model",
                          f"Remove {model.name} from the library?", parent=self)
        box.setInformativeText(str(model.path))
        delete = QCheckBox("Also delete the file from disk")
        box.setCheckBox(delete)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        if box.exec() != QMessageBox.StandardButton.Ok:
            return None
        if not delete.isChecked():
            return False
        sure = QMessageBox.warning(
            self, "Delete file", f"Delete {model.path} from disk? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return True if sure == QMessageBox.StandardButton.Yes else None

    def remove(self, model: LibraryModel, *, delete_file: bool = False) -> None:
        self._run(lambda: self.service.remove(model, delete_file=delete_file),
                  lambda _: self.refresh())

    # -- memory ----------------------------------------------------------------------------

    def update_fit(self) -> None:
        model = self.selected_model()
        if model is None or model.info is None:
            self.fit_label.setText("Select a model for a memory estimate." if model is None
                                   else f"No estimate: {model.problem}")
            return
        n_ctx = self.n_ctx.value()
        self.fit_label.setText("Estimating…")

        def shown(estimate) -> None:
            if self.selected_model() is model and self.n_ctx.value() == n_ctx:
                notes = "".join(f"\n• {note}" for note in estimate.notes)
                self.fit_label.setText(estimate.summary() + notes)

        self._run(lambda: self.service.fit(str(model.path), n_ctx), shown,
                  lambda message: self.fit_label.setText(message))

    def show_usage(self, host, name: str = "the model") -> None:
        """After a model is loaded (a started ModelHost, ``name`` its one name): what it
        actually uses."""
        self._run(lambda: self.service.actual_usage(host),
                  lambda usage: self.usage_label.setText(f"Loaded {name}: {usage.summary()}"),
                  lambda message: self.usage_label.setText(message))
