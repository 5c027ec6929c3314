"""The Documents tab: this session's and global document sets, their files and how each was
cut into chunks, the set's embedding, and a search box to try queries.

Every service call runs off the GUI thread: quick ones (listing, a document's text, a search)
with ``run_in_background``, long ones (adding files, re-chunking, embedding) as a job in the
``JobStrip`` with progress and Cancel. What an add skipped stays listed with its reasons until
the next job (``JobReport``), not in a banner that goes away, and so do the files it added with
a notice (what pypdf warned of in a damaged PDF it could still read).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.job_state import FAILED, JobState
from ...core.model_info import human_bytes
from ...core.retrieval import DocumentSet, Retrieved, SourceDocument
from ...core.wording import counted
from ..banner import Banner
from ..file_dialogs import ask_folder, ask_open_paths, confirm
from ..job_bridges import run_in_background
from .chunk_view import CHUNK_COLOURS, OVERLAP_COLOUR, ChunkTextView
from .embedding_row import EmbeddingRow
from .job_report import JobReport
from .job_strip import JobStrip
from .search_box import SearchBox
from .set_dialog import SetDialog

DOCUMENT_COLUMNS = ["Title", "Path", "Size", "Chunks", "Updated"]
DOCUMENT_FILTER = "Documents (*.txt *.md *.markdown *.html *.htm *.pdf);;All files (*)"
LEGEND = (f'<span style="background:{CHUNK_COLOURS[0]}">&nbsp;chunk&nbsp;</span> '
          f'<span style="background:{CHUNK_COLOURS[1]}">&nbsp;next chunk&nbsp;</span> '
          f'<span style="background:{OVERLAP_COLOUR}">&nbsp;overlap&nbsp;</span>')


class DocumentsPanel(QWidget):
    def __init__(self, service, models=None,
                 session_id: Callable[[], str | None] | None = None,
                 parent: QWidget | None = None):
        """``service``: a RetrievalService; ``models``: the ModelService (its library lists
        the embedding models); ``session_id``: the session whose sets are shown."""
        super().__init__(parent)
        self.service = service
        self.session_id = session_id or (lambda: None)
        self.sets: list[DocumentSet] = []
        self.documents: list[SourceDocument] = []
        self.current: DocumentSet | None = None
        self.set_dialog: SetDialog | None = None
        self._pending_mark: int | None = None  # a hit's chunk, marked once its text is shown
        self._build(models)

    # -- layout ----------------------------------------------------------------------------

    def _build(self, models) -> None:
        """The set list on the left, the chosen set on the right; then the wiring."""
        self.banner = Banner()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._build_sets_column())
        self.splitter.addWidget(self._build_set_page(models))
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 1200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self._connect()
        self._update_buttons()

    def _build_sets_column(self) -> QWidget:
        """The document sets, with New set… and Remove set under them."""
        self.set_list = QListWidget()
        self.new_set_button = QPushButton("New set…")
        self.remove_set_button = QPushButton("Remove set")
        set_buttons = _row(self.new_set_button, self.remove_set_button)
        return _column(QLabel("<b>Document sets</b>"), (self.set_list, 1), set_buttons)

    def _build_set_page(self, models) -> QWidget:
        """The chosen set: its name, chunking, embedding, files, the last job's report, and
        its documents, chunks and search."""
        self.title = QLabel("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.chunking_label = QLabel("")
        self.change_chunking_button = QPushButton("Change chunking…")
        self.embedding = EmbeddingRow(models.list_models if models is not None else None)
        chunking_row = _row((self.chunking_label, 1), self.change_chunking_button)
        self.job_report = JobReport()  # what the last job did, kept until the next one
        return _column(self.title, chunking_row, self.embedding, self._build_file_row(),
                       self.job_report, (self._build_browser(), 1))

    def _build_file_row(self) -> QHBoxLayout:
        """Add files…, Add folder…, Remove document, and the strip of the running job."""
        self.add_files_button = QPushButton("Add files…")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_document_button = QPushButton("Remove document")
        self.strip = JobStrip()
        file_row = _row(self.add_files_button, self.add_folder_button,
                        self.remove_document_button, (self.strip, 1))
        file_row.addStretch(0)
        return file_row

    def _build_browser(self) -> QSplitter:
        """The documents beside the chosen one's chunks, the search box below them."""
        self.table = documents_table(DOCUMENT_COLUMNS)
        self.chunk_header = QLabel(LEGEND)
        self.chunk_header.setTextFormat(Qt.TextFormat.RichText)
        self.chunk_view = ChunkTextView()
        self.search = SearchBox()
        self.documents_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.documents_splitter.addWidget(self.table)
        self.documents_splitter.addWidget(_column(self.chunk_header, (self.chunk_view, 1)))
        self.documents_splitter.setSizes([520, 520])
        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(self.documents_splitter)
        self.right_splitter.addWidget(self.search)
        self.right_splitter.setSizes([520, 300])
        return self.right_splitter

    def _connect(self) -> None:
        self.new_set_button.clicked.connect(self.ask_new_set)
        self.remove_set_button.clicked.connect(self.remove_set)
        self.set_list.currentRowChanged.connect(self._set_chosen)
        self.change_chunking_button.clicked.connect(self.ask_chunking)
        self.embedding.embed_requested.connect(self.embed)
        self.add_files_button.clicked.connect(self.choose_files)
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.remove_document_button.clicked.connect(self.remove_document)
        self.table.itemSelectionChanged.connect(self._document_chosen)
        self.search.search_requested.connect(self.run_search)
        self.search.hit_chosen.connect(self.show_hit)
        self.strip.ended.connect(self._job_ended)

    def _run(self, fn, on_success, on_failure=None) -> None:
        run_in_background(fn, self, on_success, on_failure or self._fail)

    def _fail(self, message: str) -> None:
        self.banner.show_message(message)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Shown: the session may have changed since (sets are per session), and the model
        # list is read the first time only.
        super().showEvent(event)
        self.embedding.list_models()
        self.refresh_sets()

    def session_changed(self) -> None:
        """Another session was opened: its sets, now if the tab is in view, else when the
        tab is shown."""
        if self.isVisible():
            self.refresh_sets()

    # -- sets ------------------------------------------------------------------------------

    def refresh_sets(self, select: str | None = None) -> None:
        """``select``: a set's id to choose (else the current one stays chosen)."""
        session = self.session_id()
        chosen = select or (self.current.id if self.current else None)
        # The session's own sets, then the global ones (the service's order).
        self._run(lambda: self.service.sets(session), lambda sets: self._show_sets(sets, chosen))

    def _show_sets(self, sets: list[DocumentSet], chosen: str | None) -> None:
        self.sets = list(sets)
        self.set_list.blockSignals(True)  # one _set_chosen below, not one per row
        self.set_list.clear()
        for doc_set in self.sets:
            scope = "this session" if doc_set.session_id else "every session"
            item = QListWidgetItem(doc_set.name if doc_set.session_id
                                   else f"{doc_set.name}  (global)")
            item.setToolTip(f"In {scope} · {doc_set.chunking.describe()}")
            self.set_list.addItem(item)
        ids = [s.id for s in self.sets]
        row = ids.index(chosen) if chosen in ids else (0 if ids else -1)
        self.set_list.setCurrentRow(row)
        self.set_list.blockSignals(False)
        self._set_chosen(row)

    def _set_chosen(self, row: int) -> None:
        previous = self.current.id if self.current else None
        self.current = self.sets[row] if 0 <= row < len(self.sets) else None
        doc_set = self.current
        self.title.setText(f"<b>{html.escape(doc_set.name)}</b>" if doc_set else
                           "<i>No document set: make one with New set…</i>")
        self.chunking_label.setText(f"Chunking: {doc_set.chunking.describe()}"
                                    if doc_set else "")
        self.embedding.show_set(doc_set)
        if self.search.waiting_for_vectors and doc_set is not None \
                and doc_set.id == previous and doc_set.embedding is not None:
            self.search.request()  # embedded since: the search that asked for it runs now
        if doc_set is None or doc_set.id != previous:
            # Another set: nothing of the one before stays on screen while its list loads.
            self.documents = []
            self.table.setRowCount(0)
            self.chunk_view.clear_document()
            self.search.clear_hits()
        self._update_buttons()
        self.refresh_documents()

    def ask_new_set(self) -> None:
        """The dialog is opened, not exec'd: the event loop (and a test) goes on while it is
        up; its OK creates the set."""
        dialog = self.set_dialog = SetDialog(self, has_session=self.session_id() is not None)
        dialog.accepted.connect(lambda: self._create_set(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _create_set(self, dialog: SetDialog) -> None:
        name, spec = dialog.name(), dialog.chunking()
        session = self.session_id() if dialog.session_only.isChecked() else None
        self.set_dialog = None
        self._run(lambda: self.service.create_set(name, session_id=session, chunking=spec),
                  lambda created: self.refresh_sets(select=created.id))

    def remove_set(self) -> None:
        doc_set = self.current
        if doc_set is None or not confirm(
                self, "Remove set", f"Remove the set {doc_set.name!r} with its documents, "
                "chunks and vectors? The files on disk stay."):
            return
        self.current = None
        self._run(lambda: self.service.remove_set(doc_set.id), lambda _: self.refresh_sets())

    # -- documents -------------------------------------------------------------------------

    def refresh_documents(self) -> None:
        doc_set = self.current
        if doc_set is None:
            self._show_documents(None, [])
            return
        self._run(lambda: self.service.documents(doc_set.id),
                  lambda documents: self._show_documents(doc_set, documents))

    def _show_documents(self, doc_set: DocumentSet | None,
                        documents: list[SourceDocument]) -> None:
        if doc_set is not self.current:
            return  # another set was chosen meanwhile
        selected = self.selected_document()
        self.documents = list(documents)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.documents))
        for row, document in enumerate(self.documents):
            cells = [document.title, document.path, human_bytes(document.size),
                     f"{document.chunks:,}", f"{document.updated_at:%Y-%m-%d %H:%M}"]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.clearSelection()
        self.table.blockSignals(False)
        if selected is None or not self.select_document(selected.id):
            self.chunk_view.clear_document()
        self._update_buttons()

    def selected_document(self) -> SourceDocument | None:
        rows = {item.row() for item in self.table.selectedItems()}
        return self.documents[min(rows)] if rows and min(rows) < len(self.documents) else None

    def select_document(self, document_id: str) -> bool:
        for row, document in enumerate(self.documents):
            if document.id == document_id:
                self.table.selectRow(row)
                return True
        return False

    def _document_chosen(self) -> None:
        self._update_buttons()
        document, doc_set = self.selected_document(), self.current
        if document is None or doc_set is None:
            return
        self.load_chunks(doc_set, document)

    def load_chunks(self, doc_set: DocumentSet, document: SourceDocument) -> None:
        def fetch():
            return (self.service.document_text(document.id),
                    self.service.chunks(doc_set.id, document.id))

        def shown(result) -> None:
            if self.selected_document() is None or self.selected_document().id != document.id:
                return  # the user moved on
            text, chunks = result
            marked, self._pending_mark = self._pending_mark, None
            self.chunk_view.show_document(text, chunks, marked)
            self.chunk_header.setText(
                f"<b>{html.escape(document.title)}</b> · {counted(len(chunks), 'chunk')} "
                f"({doc_set.chunking.describe()}) &nbsp; {LEGEND}")

        self._run(fetch, shown)

    def remove_document(self) -> None:
        document, doc_set = self.selected_document(), self.current
        if document is None or doc_set is None:
            return
        self.chunk_view.clear_document()
        self._run(lambda: self.service.remove_document(doc_set.id, document.id),
                  lambda _: self.refresh_documents())

    # -- long work: add, re-chunk, embed ----------------------------------------------------

    def choose_files(self) -> None:
        paths = ask_open_paths(self, "Add documents", DOCUMENT_FILTER)
        if paths:
            self.add_paths([Path(p) for p in paths])

    def choose_folder(self) -> None:
        folder = ask_folder(self, "Add a folder of documents")
        if folder:
            self.add_paths([Path(folder)])

    def add_paths(self, paths: list[Path]) -> None:
        doc_set = self.current
        if doc_set is None or self.strip.running:
            return
        self._start(lambda watcher: self.service.start_add(doc_set.id, paths,
                                                           watcher=watcher))

    def ask_chunking(self) -> None:
        doc_set = self.current
        if doc_set is None:
            return
        dialog = self.set_dialog = SetDialog(self, chunking=doc_set.chunking, name_needed=False)
        dialog.accepted.connect(lambda: self._rechunk(doc_set, dialog.chunking()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _rechunk(self, doc_set: DocumentSet, spec) -> None:
        self.set_dialog = None
        self._start(lambda watcher: self.service.start_set_chunking(doc_set.id, spec,
                                                                    watcher=watcher))

    def embed(self, model: str) -> None:
        doc_set = self.current
        if doc_set is None or self.strip.running:
            return
        self._start(lambda watcher: self.service.start_reembed(doc_set.id, model,
                                                               watcher=watcher))

    def _start(self, start) -> None:
        """Show the job ``start(watcher)`` (the service's ``start_…``) starts in the strip."""
        self.banner.hide()
        self.job_report.clear()
        self.strip.start(start)
        self._update_buttons()

    def _job_ended(self, state: JobState) -> None:
        if state.status == FAILED:
            self.job_report.show_failure(state)
        else:
            self.job_report.show_outcome(state)
        self._update_buttons()
        self.refresh_sets()  # chunk counts, the embedding, the chunking may have changed

    def _update_buttons(self) -> None:
        has_set, busy = self.current is not None, self.strip.running
        for button in (self.add_files_button, self.add_folder_button,
                       self.change_chunking_button, self.embedding.embed_button):
            button.setEnabled(has_set and not busy)
        self.remove_set_button.setEnabled(has_set and not busy)
        self.remove_document_button.setEnabled(
            not busy and self.selected_document() is not None)

    # -- search ----------------------------------------------------------------------------

    def run_search(self, query: str, mode: str, k: int) -> None:
        doc_set = self.current
        if doc_set is None:
            self.search.show_problem("Choose a document set to search.")
            return
        if mode != "bm25" and doc_set.embedding is None:
            self.search.show_needs_vectors(doc_set.name, mode)  # the button is right above
            return
        self._run(lambda: self.service.search(doc_set.id, query, mode=mode, k=k),
                  lambda hits: self.search.show_hits(hits, mode), self.search.show_problem)

    def show_hit(self, hit: Retrieved) -> None:
        """Show the hit's document with the hit's chunk marked and scrolled into view."""
        selected = self.selected_document()
        if selected is not None and selected.id == hit.document_id and self.chunk_view.chunks:
            self.chunk_view.mark(hit.chunk_id)
            return
        self._pending_mark = hit.chunk_id
        if not self.select_document(hit.document_id):
            self._pending_mark = None
            self.search.show_problem(f"{hit.source} is no longer in the set.")


def documents_table(columns: list[str]) -> QTableWidget:
    """One row a document, chosen whole, one at a time, read-only."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a path's both ends tell
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(columns.index("Path"), QHeaderView.ResizeMode.Stretch)
    return table


def _row(*parts) -> QHBoxLayout:
    """``parts`` side by side; a part given as (widget, stretch) takes that share of the
    spare width."""
    row = QHBoxLayout()
    for part in parts:
        widget, stretch = part if isinstance(part, tuple) else (part, 0)
        row.addWidget(widget, stretch)
    return row


def _column(*parts) -> QWidget:
    """``parts`` (widgets, or rows of them) one under another in a widget of their own with
    no margins; a part given as (widget, stretch) takes that share of the spare height."""
    widget = QWidget()
    column = QVBoxLayout(widget)
    column.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        item, stretch = part if isinstance(part, tuple) else (part, 0)
        if isinstance(item, QHBoxLayout):
            column.addLayout(item, stretch)
        else:
            column.addWidget(item, stretch)
    return widget
