"""The composer's Retrieval section: which document set fills ``{{ context }}``, how, how many.

The preview and the context bar show the selected case with the chunks this choice retrieves
(searched in the composer's background measuring job, never on the GUI thread); each variant
of the comparison has its own retrieval in the variants table.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import WorkbenchError
from ...core.retrieval import RetrievalSettings
from ...core.retrieved_context import CaseContext, fill_context
from ...core.wording import counted
from ...services.retrieval_context import CaseRetriever, sets_for_session
from ..job_bridges import BackgroundCall

MODES = (("none", "none"), ("BM25", "bm25"), ("dense", "dense"), ("hybrid", "hybrid"))
NO_SET = "(no document set)"


def describe(settings: RetrievalSettings) -> str:
    """"hybrid k=4 · handbook" (or "none"), as the variants table shows a variant's."""
    if not settings.active:
        return "none"
    floor = f" ≥{settings.score_floor:g}" if settings.score_floor is not None else ""
    return f"{settings.mode} k={settings.k}{floor} · {settings.set_name}"


# -- the three choices, shared with a variant's retrieval editor (ui/compare/retrieval_cell.py)

def mode_combo(mode: str = "none") -> QComboBox:
    combo = QComboBox()
    for text, value in MODES:
        combo.addItem(text, value)
    combo.setCurrentIndex(max(0, combo.findData(mode)))
    return combo


def k_spin(k: int) -> QSpinBox:
    return QSpinBox(minimum=1, maximum=50, value=k)


def fill_set_combo(combo: QComboBox, names: list[str], chosen: str) -> None:
    """No set, then the sets by name; a chosen set that is not among them stays, marked
    missing (a variant saved with a set since removed)."""
    combo.clear()
    combo.addItem(NO_SET, "")
    for name in names:
        combo.addItem(name, name)
    if chosen and combo.findData(chosen) < 0:
        combo.addItem(f"{chosen} (missing)", chosen)
    combo.setCurrentIndex(max(0, combo.findData(chosen)))


def chosen_settings(sets: QComboBox, modes: QComboBox, k: QSpinBox,
                    score_floor: float | None = None) -> RetrievalSettings:
    return RetrievalSettings(set_name=sets.currentData() or "", mode=modes.currentData() or "none",
                             k=k.value(), score_floor=score_floor)


def _raise_if_unembedded(service, settings: RetrievalSettings, session_id: str | None) -> None:
    """A dense or hybrid choice on a set with no vectors: say where the window embeds it (the
    service's own message names the command line's way)."""
    if settings.mode == "bm25":
        return
    try:
        doc_set = service.get_set(settings.set_name, session_id)
    except WorkbenchError:
        return  # a missing set: the search's own message says so
    if doc_set.embedding is None:
        raise WorkbenchError(
            f"Retrieval from '{doc_set.name}' ({settings.mode}) cannot run: the set has no "
            "vectors yet. Embed it in the Documents tab (Embed with), or choose BM25.")


class RetrievalSection(QGroupBox):
    changed = Signal()  # the user chose another set, mode or k
    active_changed = Signal(bool)  # retrieval fills {{ context }} (or no longer does)
    # The sets were listed again after a failed retrieval: the set may have been embedded
    # (or made) since, so the line's reason may be out of date; worth retrieving again.
    retry_wanted = Signal()
    sets_listed = Signal(list)  # the set names, after each refresh

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Retrieval", parent)
        self.setObjectName("composer-retrieval")
        self.service = None  # the retrieval lab's RetrievalService (None: not available)
        self.session_id: str | None = None
        self._loading = False
        self._failed = False  # the line shows why retrieval could not run
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        row.addWidget(QLabel("Document set"))
        self.set_combo = QComboBox()
        self.set_combo.setObjectName("retrieval-set")
        self.set_combo.setMinimumContentsLength(14)
        self.set_combo.setToolTip("The session's document sets and the global ones: their "
                                  "chunks fill {{ context }} in the user template")
        row.addWidget(self.set_combo, 1)
        row.addWidget(QLabel("Mode"))
        self.mode_combo = mode_combo()
        self.mode_combo.setObjectName("retrieval-mode")
        self.mode_combo.setToolTip("none: {{ context }} is empty · BM25: words (SQLite FTS5) · "
                                   "dense: embeddings · hybrid: both, fused by rank")
        row.addWidget(self.mode_combo)
        row.addWidget(QLabel("k"))
        self.k_spin = k_spin(RetrievalSettings().k)
        self.k_spin.setToolTip("How many chunks to retrieve per case")
        row.addWidget(self.k_spin)
        layout.addLayout(row)
        self.status = QLabel("Write {{ context }} in the user template; choose a set and a mode.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color:#555")
        layout.addWidget(self.status)
        self.set_combo.addItem(NO_SET, "")
        self.set_combo.currentIndexChanged.connect(self._changed)
        self.mode_combo.currentIndexChanged.connect(self._changed)
        self.k_spin.valueChanged.connect(self._changed)

    # -- where sets come from ------------------------------------------------------------

    def set_source(self, service, session_id: str | None) -> None:
        """The retrieval service and the session whose sets (plus the global ones) are listed."""
        self.service, self.session_id = service, session_id
        self.refresh_sets()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Coming back from the Documents tab: list the sets again (one may be new)."""
        super().showEvent(event)
        self.refresh_sets()

    def refresh_sets(self) -> None:
        if self.service is None:
            return
        service, session_id = self.service, self.session_id
        call = BackgroundCall(lambda: [s.name for s in sets_for_session(service, session_id)],
                              self)
        call.succeeded.connect(self._show_sets)
        call.failed.connect(lambda message: self.status.setText(message))
        call.start()

    def _show_sets(self, names: list[str]) -> None:
        self._loading = True
        fill_set_combo(self.set_combo, names, self.set_combo.currentData() or "")
        self._loading = False
        self.sets_listed.emit(list(names))
        if self._failed:
            self.retry_wanted.emit()

    # -- the choice ----------------------------------------------------------------------

    def settings(self) -> RetrievalSettings:
        return chosen_settings(self.set_combo, self.mode_combo, self.k_spin)

    def set_settings(self, settings: RetrievalSettings) -> None:
        self._loading = True
        if settings.set_name and self.set_combo.findData(settings.set_name) < 0:
            self.set_combo.addItem(settings.set_name, settings.set_name)
        self.set_combo.setCurrentIndex(max(0, self.set_combo.findData(settings.set_name)))
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(settings.mode)))
        self.k_spin.setValue(settings.k)
        self._loading = False
        self.active_changed.emit(self.settings().active)

    def _changed(self, *_args) -> None:
        if not self._loading:
            self.changed.emit()
            self.active_changed.emit(self.settings().active)

    # -- in the measuring job (a background thread) --------------------------------------

    def fetcher(self):
        """A function for the background job: variables -> CaseContext. Searching happens
        there, with a fresh cache (documents may have changed since the last preview)."""
        settings, service, session_id = self.settings(), self.service, self.session_id

        def fetch(variables: dict[str, str], template: str) -> CaseContext:
            if service is None:  # (an inactive choice is filled empty by context_for too)
                return fill_context(variables, settings)
            try:
                return CaseRetriever(None, service, session_id=session_id).context_for(
                    settings, variables, template)
            except WorkbenchError:
                _raise_if_unembedded(service, settings, session_id)
                raise
        return fetch

    def show_result(self, context: CaseContext | None, error: str = "") -> None:
        """The line under the choice: what was retrieved for the selected case, or why not."""
        self._failed = bool(error)
        if error:
            self.status.setText(error)
            self.status.setStyleSheet("color:#c62828")
            return
        self.status.setStyleSheet("color:#555")
        settings = self.settings()
        if context is None or not settings.active:
            self.status.setText("No retrieval: {{ context }} is empty." if settings.mode == "none"
                                else "Choose a document set.")
        elif context.own:
            self.status.setText("The selected case sets its own context: nothing retrieved.")
        elif not context.query:
            self.status.setText("The user template has no {{ context }}: nothing retrieved.")
        else:
            query = context.query if len(context.query) <= 60 else context.query[:59] + "…"
            count = len(context.chunks)
            self.status.setText(f"{counted(count, 'chunk')} from "
                                f"{settings.set_name} ({settings.mode}) for “{query}”")
