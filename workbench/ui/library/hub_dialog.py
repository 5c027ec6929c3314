"""The Hub tab: search GGUF repositories, see a repository's files by quantization, download.

Search, listing and downloads run off the GUI thread; errors (offline, 404, gated, network)
appear in the tab's banner, never as a crash or a modal box.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.model_info import human_bytes
from ...services.library import HubRepo, LibraryService, RepoFiles
from ..banner import Banner
from ..job_bridges import BackgroundCall, run_in_background
from .download_widgets import DownloadJob, DownloadRow

FILE_ROLE = Qt.ItemDataRole.UserRole


class HubBrowser(QWidget):
    model_added = Signal(object)  # LibraryModel, after a verified download
    searched = Signal(int)  # number of results shown
    files_listed = Signal(str)  # repository id

    def __init__(self, service: LibraryService, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.rows: list[DownloadRow] = []
        self.repo_files: RepoFiles | None = None

        self.banner = Banner()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search GGUF models on the Hugging Face Hub")
        self.search_button = QPushButton("Search")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop waiting for this search")
        self.cancel_button.hide()
        self._search_job: BackgroundCall | None = None
        self.results = QTableWidget(0, 4)
        self.results.setHorizontalHeaderLabels(["Repository", "Downloads", "Likes", "Updated"])
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.files = QTreeWidget()
        self.files.setHeaderLabels(["File", "Size"])
        self.files.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.files_label = QLabel("Select a repository to see its GGUF files.")
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.downloads = QVBoxLayout()

        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.search_button)
        search_row.addWidget(self.cancel_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.files_label)
        right_layout.addWidget(self.files, 1)
        right_layout.addWidget(self.download_button)
        split = QSplitter()
        split.addWidget(self.results)
        split.addWidget(right)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(search_row)
        layout.addWidget(split, 1)
        layout.addLayout(self.downloads)

        self.search_edit.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.cancel_button.clicked.connect(self.cancel_search)
        self.results.itemSelectionChanged.connect(self._repo_selected)
        self.files.itemSelectionChanged.connect(self._file_selected)
        self.files.itemDoubleClicked.connect(lambda *_: self.download_selected())
        self.download_button.clicked.connect(self.download_selected)

    # -- background helper -----------------------------------------------------------------

    def _run(self, fn, on_success, on_failure=None) -> None:
        def failed(message: str) -> None:
            self.banner.show_message(message)
            if on_failure is not None:
                on_failure(message)

        run_in_background(fn, self, on_success, failed)

    # -- search ----------------------------------------------------------------------------

    def search(self) -> None:
        text = self.search_edit.text()
        self.banner.hide()
        self.search_button.setEnabled(False)
        self.search_button.setText("Searching…")
        self.cancel_button.show()
        # Its own job, not _run: a cancelled search's late answer or error must stay unseen.
        job = BackgroundCall(lambda: self.service.search(text), self)
        self._search_job = job
        job.succeeded.connect(lambda found: self._show_results(found)
                              if self._search_job is job else None)
        job.failed.connect(lambda message: self._search_failed(message)
                           if self._search_job is job else None)
        job.start()

    def cancel_search(self) -> None:
        """The request cannot be pulled back from the network; its answer is dropped."""
        self._search_job = None
        self._search_done()
        self.banner.show_message("Search cancelled.", "info")

    def _search_failed(self, message: str) -> None:
        self._search_done()
        self.banner.show_message(message)

    def _search_done(self) -> None:
        self._search_job = None
        self.search_button.setEnabled(True)
        self.search_button.setText("Search")
        self.cancel_button.hide()

    def _show_results(self, found: list[HubRepo]) -> None:
        self._search_done()
        self.results.setRowCount(len(found))
        for row, repo in enumerate(found):
            name = QTableWidgetItem(repo.id + ("  (gated)" if repo.gated else ""))
            name.setData(FILE_ROLE, repo.id)
            date = repo.last_modified.date().isoformat() if repo.last_modified else ""
            cells = [name, QTableWidgetItem(f"{repo.downloads:,}"),
                     QTableWidgetItem(f"{repo.likes:,}"), QTableWidgetItem(date)]
            for column, item in enumerate(cells):
                self.results.setItem(row, column, item)
        if not found:
            self.banner.show_message("No GGUF repositories match that search.", "info")
        self.searched.emit(len(found))

    # -- files -----------------------------------------------------------------------------

    def _repo_selected(self) -> None:
        items = self.results.selectedItems()
        if not items:
            return
        self.list_files(self.results.item(items[0].row(), 0).data(FILE_ROLE))

    def list_files(self, repo: str) -> None:
        self.banner.hide()
        self.files.clear()
        self.files_label.setText(f"Listing {repo}…")
        self.download_button.setEnabled(False)

        def failed(_message: str) -> None:
            self.files_label.setText(f"No files listed for {repo}.")

        self._run(lambda: self.service.repo_files(repo), self._show_files, failed)

    def _show_files(self, listing: RepoFiles) -> None:
        self.repo_files = listing
        self.files.clear()
        for quant, models in listing.by_quantization().items():
            group = QTreeWidgetItem([quant, ""])
            group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            for model in models:
                parts = f"  ({len(model.parts)} parts)" if len(model.parts) > 1 else ""
                item = QTreeWidgetItem([model.filename + parts, human_bytes(model.size)])
                item.setData(0, FILE_ROLE, model.filename)
                group.addChild(item)
            self.files.addTopLevelItem(group)
            group.setExpanded(True)
        gated = " (gated: needs a login token)" if listing.gated else ""
        self.files_label.setText(f"{listing.repo}: {len(listing.files)} GGUF model(s){gated}")
        self.files_listed.emit(listing.repo)

    def _file_selected(self) -> None:
        self.download_button.setEnabled(self.selected_file() is not None)

    def selected_file(self) -> str | None:
        items = self.files.selectedItems()
        return items[0].data(0, FILE_ROLE) if items else None

    # -- downloads -------------------------------------------------------------------------

    def download_selected(self) -> DownloadRow | None:
        filename = self.selected_file()
        if filename is None or self.repo_files is None:
            return None
        return self.download(self.repo_files.repo, filename)

    def download(self, repo: str, filename: str) -> DownloadRow:
        row = DownloadRow(DownloadJob(self.service, repo, filename, self), self)
        row.finished.connect(self.model_added.emit)
        self.rows.append(row)
        self.downloads.addWidget(row)
        row.start()
        return row
