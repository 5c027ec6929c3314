"""Try a query on a set: the words, the mode (BM25 / dense / hybrid), how many; the hits with
rank, score, title and text. Clicking a hit asks for its chunk to be shown (``hit_chosen``).

The panel runs the search off the GUI thread (``search_requested``) and hands back hits or a
message; the box only shows them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.retrieval import Retrieved

MODES = (("BM25", "bm25"), ("Dense", "dense"), ("Hybrid", "hybrid"))
COLUMNS = ["#", "Score", "Title", "Text"]
SNIPPET = 240  # characters of a hit shown in its row; the whole text is its tooltip


def needs_vectors(set_name: str, mode_name: str) -> str:
    """Dense or hybrid search on a set with no vectors yet: the way out is the button above."""
    return (f"{mode_name} search needs the set's vectors, and '{set_name}' has none yet: press "
            "Embed with (above) to embed it, then search again. BM25 search works now.")


class SearchBox(QWidget):
    search_requested = Signal(str, str, int)  # query, mode, k
    hit_chosen = Signal(object)  # Retrieved

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.query = QLineEdit(placeholderText="Try a query on this set and press Enter")
        self.mode = QComboBox()
        for label, mode in MODES:
            self.mode.addItem(label, mode)
        self.mode.setCurrentIndex(self.mode.findData("hybrid"))
        self.mode.setToolTip("BM25: words (SQLite FTS5) · Dense: embedding similarity · "
                             "Hybrid: both fused by reciprocal rank")
        self.k = QSpinBox(prefix="k ")
        self.k.setRange(1, 100)
        self.k.setValue(5)
        self.search_button = QPushButton("Search")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.results = QTableWidget(0, len(COLUMNS))
        self.results.setHorizontalHeaderLabels(COLUMNS)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().hide()
        self.results.setWordWrap(False)  # one line a hit; the tooltip has the whole text
        header = self.results.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.hits: list[Retrieved] = []
        self.waiting_for_vectors = False  # the status asks for an embedding (needs_vectors)

        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(self.mode)
        row.addWidget(self.k)
        row.addWidget(self.search_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)

        self.query.returnPressed.connect(self.request)
        self.search_button.clicked.connect(self.request)
        self.results.itemSelectionChanged.connect(self._chosen)

    def request(self) -> None:
        text = self.query.text().strip()
        if not text:
            self.show_problem("Type a query first.")
            return
        self.status.setStyleSheet("color:#616161;")
        self.status.setText("Searching…")
        self.search_requested.emit(text, self.mode.currentData(), self.k.value())

    def mode_name(self, mode: str) -> str:
        return self.mode.itemText(self.mode.findData(mode)) or mode

    def show_needs_vectors(self, set_name: str, mode: str) -> None:
        self.show_problem(needs_vectors(set_name, self.mode_name(mode)))
        self.waiting_for_vectors = True

    def show_hits(self, hits: list[Retrieved], mode: str) -> None:
        self.waiting_for_vectors = False
        self.hits = list(hits)
        self.results.setRowCount(len(self.hits))
        for row, hit in enumerate(self.hits):
            snippet = " ".join(hit.text.split())
            if len(snippet) > SNIPPET:
                snippet = snippet[:SNIPPET] + "…"
            cells = [str(hit.rank), f"{hit.score:.4f}", hit.title or hit.source, snippet]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(self._tooltip(hit))
                self.results.setItem(row, column, item)
        self.status.setStyleSheet("color:#616161;")
        name = self.mode_name(mode)
        self.status.setText(f"{len(self.hits)} hits ({name})." if self.hits
                            else f"No hits ({name}).")

    @staticmethod
    def _tooltip(hit: Retrieved) -> str:
        ranks = []
        if hit.bm25_rank is not None:
            ranks.append(f"BM25 rank {hit.bm25_rank}")
        if hit.dense_rank is not None:
            ranks.append(f"dense rank {hit.dense_rank}")
        where = f"{hit.source} · chunk {hit.position + 1}"
        return "\n".join([where, *([" · ".join(ranks)] if ranks else []), "", hit.text[:2000]])

    def show_problem(self, message: str) -> None:
        """A search that could not run: its message, and no hits left from the one before."""
        self.waiting_for_vectors = False
        self.hits = []
        self.results.setRowCount(0)
        self.status.setStyleSheet("color:#611a15;")
        self.status.setText(message)

    def clear_hits(self) -> None:
        self.waiting_for_vectors = False
        self.hits = []
        self.results.setRowCount(0)
        self.status.setText("")

    def _chosen(self) -> None:
        rows = {item.row() for item in self.results.selectedItems()}
        if rows and min(rows) < len(self.hits):
            self.hit_chosen.emit(self.hits[min(rows)])
