"""The retrieval lab's use cases: document sets, adding files, chunking, embedding, search.

``RetrievalService`` is what the CLI (``workbench docs``), the composer and the grid call. Long
work is started as a job the service makes and returns (``start_add``, ``start_set_chunking``,
``start_reembed``: a thread, progress, cancel, the ``IndexReport`` as outcome); the window's
documents panel and ``workbench docs`` watch it. The blocking forms (``add``, ``set_chunking``,
``reembed``) are what those threads run, and what tests and other services call directly.
"""

from __future__ import annotations

from ...core.errors import WorkbenchError
from ...core.job_state import JobState, JobWatcher
from ...core.retrieval import (
    ChunkingSpec,
    ChunkView,
    DocumentSet,
    IndexReport,
    Retrieved,
    SourceDocument,
)
from ..job_start import start_job
from .chunking import check_spec
from .embedder import DEFAULT_MODEL, Embedders
from .index import Indexer
from .search import Searcher

DEFAULT_CHUNKING = ChunkingSpec()  # 256 model tokens, 32 overlap


class RetrievalService:
    def __init__(self, store, models):
        self.store = store
        self.models = models  # services.models.ModelService: embedding hosts are its hosts
        self.embedders = Embedders(models)
        self.indexer = Indexer(store, self.embedders)
        self.searcher = Searcher(store, self.embedders)

    # -- long work, started as a job ----------------------------------------------------

    def start_add(self, name: str, paths: list, *, embed_model: str | None = None,
                  session_id: str | None = None, watcher: JobWatcher | None = None) -> JobState:
        """``add`` in a thread, as the job returned (its outcome the IndexReport)."""
        return self._start("Adding to", name, session_id, watcher, lambda job: self.add(
            name, paths, job, embed_model=embed_model, session_id=session_id))

    def start_set_chunking(self, name: str, spec: ChunkingSpec, *,
                           session_id: str | None = None,
                           watcher: JobWatcher | None = None) -> JobState:
        """``set_chunking`` in a thread, as the job returned."""
        return self._start("Re-chunking", name, session_id, watcher,
                           lambda job: self.set_chunking(name, spec, job, session_id))

    def start_reembed(self, name: str, model: str, *, session_id: str | None = None,
                      watcher: JobWatcher | None = None) -> JobState:
        """``reembed`` in a thread, as the job returned."""
        return self._start("Embedding", name, session_id, watcher,
                           lambda job: self.reembed(name, model, job, session_id))

    def _start(self, doing: str, name: str, session_id: str | None,
               watcher: JobWatcher | None, work) -> JobState:
        try:  # the title names the set as the user knows it, not by its id
            shown = self.get_set(name, session_id).name
        except WorkbenchError:
            shown = name  # the work fails with the reason, through the job
        return start_job(f"{doing} {shown}", work, watcher, thread_name="retrieval")

    # -- sets ----------------------------------------------------------------------------

    def create_set(self, name: str, session_id: str | None = None,
                   chunking: ChunkingSpec = DEFAULT_CHUNKING) -> DocumentSet:
        name = name.strip()
        if not name:
            raise WorkbenchError("A document set needs a name.")
        check_spec(chunking)
        if any(s.name == name for s in self.store.retrieval.sets(session_id)):
            where = "this session" if session_id else "the global sets"
            raise WorkbenchError(f"A document set named '{name}' already exists in {where}.")
        return self.store.retrieval.add_set(DocumentSet(name, session_id=session_id,
                                                        chunking=chunking))

    def sets(self, session_id: str | None = None) -> list[DocumentSet]:
        """The sets a session can use: its own, then the global ones (None: global only)."""
        own = self.store.retrieval.sets(session_id) if session_id else []
        return own + self.store.retrieval.sets(None)

    def get_set(self, name_or_id: str, session_id: str | None = None) -> DocumentSet:
        """By id, else by name (the session's set before a global one of the same name)."""
        found = self.store.retrieval.get_set(name_or_id)
        if found is not None:
            return found
        for doc_set in self.sets(session_id):
            if doc_set.name == name_or_id:
                return doc_set
        known = ", ".join(f"'{s.name}'" for s in self.sets(session_id)) or "none yet"
        raise WorkbenchError(f"No document set named '{name_or_id}' (known: {known}).")

    def remove_set(self, name: str, session_id: str | None = None) -> None:
        self.store.retrieval.remove_set(self.get_set(name, session_id).id)

    def set_chunking(self, name: str, spec: ChunkingSpec, job: JobState | None = None,
                     session_id: str | None = None) -> IndexReport:
        """Cut every document of the set again, then embed the new chunks in its space."""
        check_spec(spec)
        doc_set = self.get_set(name, session_id)

        def work(job: JobState, report: IndexReport) -> None:
            model = self._model_path(doc_set, None)
            self.store.retrieval.set_chunking(doc_set.id, spec)
            rechunked = self.store.retrieval.get_set(doc_set.id)
            self.indexer.rechunk(rechunked, job, report, self.embedders.host(model))
            if rechunked.embedding is not None and not job.cancelled:
                self.indexer.embed(rechunked, model, job, report)

        return _as_job(job, f"Re-chunking {doc_set.name}", work)

    # -- documents -----------------------------------------------------------------------

    def add(self, name: str, paths: list, job: JobState | None = None,
            embed_model: str | None = None, session_id: str | None = None) -> IndexReport:
        """Add files and folders (see index.py); embed the new chunks when the set has an
        embedding model or ``embed_model`` names one (then the set moves to that model)."""
        doc_set = self.get_set(name, session_id)

        def work(job: JobState, report: IndexReport) -> None:
            model = self._model_path(doc_set, embed_model)  # a missing model fails first
            self.indexer.add(doc_set, list(paths), job, report, self.embedders.host(model))
            if (embed_model or doc_set.embedding) and not job.cancelled:
                self.indexer.embed(doc_set, model, job, report)

        return _as_job(job, f"Adding to {doc_set.name}", work)

    def remove_document(self, name: str, document_id: str, session_id: str | None = None) -> None:
        doc_set = self.get_set(name, session_id)
        if all(d.id != document_id for d in self.store.retrieval.documents(doc_set.id)):
            raise WorkbenchError(f"The document set '{doc_set.name}' has no document "
                                 f"{document_id}.")
        self.store.retrieval.remove_document(document_id)

    def documents(self, name: str, session_id: str | None = None) -> list[SourceDocument]:
        return self.store.retrieval.documents(self.get_set(name, session_id).id)

    def chunks(self, name: str, document_id: str | None = None,
               session_id: str | None = None) -> list[ChunkView]:
        return self.store.retrieval.chunks(self.get_set(name, session_id).id, document_id)

    def document_text(self, document_id: str) -> str:
        return self.store.retrieval.document_text(document_id)

    # -- vectors -------------------------------------------------------------------------

    def reembed(self, name: str, model: str, job: JobState | None = None,
                session_id: str | None = None) -> IndexReport:
        """Embed every chunk with ``model`` (library name or path; "bundled" for the bundled
        model). Another file, dimension or pooling is another space: all chunks are embedded
        into it and the set switches once they are. Resumable: a second call embeds only the
        chunks still missing a vector."""
        doc_set = self.get_set(name, session_id)

        def work(job: JobState, report: IndexReport) -> None:
            path = self.embedders.resolve(model)  # before any work
            self.indexer.embed(doc_set, path, job, report)

        return _as_job(job, f"Embedding {doc_set.name}", work)

    def _model_path(self, doc_set: DocumentSet, embed_model: str | None):
        """The model that embeds (and so tokenizes, for chunk sizes) the set's chunks."""
        if embed_model:
            return self.embedders.resolve(embed_model)
        if doc_set.embedding is not None:
            self.embedders.check_unchanged(doc_set.embedding)
            return self.embedders.resolve(doc_set.embedding.model_path)
        return self.embedders.resolve(DEFAULT_MODEL)

    # -- search --------------------------------------------------------------------------

    def search(self, name: str, query: str, mode: str = "hybrid", k: int = 5,
               score_floor: float | None = None, session_id: str | None = None) -> list[Retrieved]:
        """Hits best first. ``score_floor`` drops hits scoring below it (in the mode's own
        score: BM25, cosine similarity, or the fused RRF score)."""
        return self.searcher.search(self.get_set(name, session_id), query, mode, k, score_floor)


def _as_job(job: JobState | None, title: str, work) -> IndexReport:
    """Run ``work(job, report)`` as the job (a new one when None): finished with the report,
    or failed with the error and the report so far (what was done is kept)."""
    job = job or JobState(title)
    report = IndexReport()
    try:
        work(job, report)
    except BaseException as error:
        job.fail(str(error), report)
        raise
    job.finish(report)
    return report
