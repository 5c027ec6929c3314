"""Retrieval in prompts: each case's ``{{ context }}`` for a variant, what each output's
prompt contained, and the grounding check of an answer against it.

The comparison run, the composer's preview and the evaluation lab all come here, so a cell's
prompt, the preview of the same case and the recorded chunks agree.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from ..core.composition import template_variables
from ..core.errors import WorkbenchError
from ..core.grounding import GroundingReport, check_grounding
from ..core.retrieval import RetrievalSettings, Retrieved
from ..core.retrieval_scores import score_retrieval
from ..core.retrieved_context import (
    CONTEXT_VARIABLE,
    CaseContext,
    case_query,
    fill_context,
    gold_sources,
    has_own_context,
)
from ..core.runs import Output
from ..store import Store


class CaseRetriever:
    """Fills ``{{ context }}`` per case. A query is searched once per settings (repeats and
    variants with the same retrieval share it); searches are serialised, because the dense
    mode's embedding model answers one request at a time anyway."""

    def __init__(self, store: Store | None, service, session_id: str | None = None):
        """``store`` may be None (a preview records nothing); ``service``: the retrieval lab's
        RetrievalService, or a function that gives it (asked only when a case retrieves, so
        runs without retrieval never make one); ``session_id``: whose sets a name means (its
        own before the global ones)."""
        self.store = store
        self.session_id = session_id
        self._service = service
        self._cache: dict[tuple, list[Retrieved]] = {}
        self._lock = threading.Lock()

    @property
    def service(self):
        return self._service() if callable(self._service) else self._service

    def search(self, settings: RetrievalSettings, query: str) -> list[Retrieved]:
        key = (settings.set_name, settings.mode, settings.k, settings.score_floor, query)
        service = self.service
        with self._lock:
            if key not in self._cache:
                self._cache[key] = list(service.search(
                    settings.set_name, query, mode=settings.mode, k=settings.k,
                    score_floor=settings.score_floor, session_id=self.session_id))
            return list(self._cache[key])

    def context_for(self, settings: RetrievalSettings, variables: dict[str, str],
                    template: str | None = None) -> CaseContext:
        """The case's variables with ``context`` filled as ``settings`` say (WorkbenchError
        naming the set and the reason when the search cannot run). A ``template`` without
        ``{{ context }}`` retrieves nothing: chunks the prompt does not hold are no context."""
        if not settings.active or has_own_context(variables) or (
                template is not None and CONTEXT_VARIABLE not in template_variables(template)):
            return fill_context(variables, settings)
        query = case_query(variables)
        if not query:
            raise WorkbenchError("Retrieval needs a query: this case has no 'query', "
                                 "'question' or 'input' value, nor any other filled variable.")
        try:
            chunks = self.search(settings, query)
        except WorkbenchError as error:
            raise WorkbenchError(f"Retrieval from '{settings.set_name}' ({settings.mode}) "
                                 f"failed: {error}") from None
        return fill_context(variables, settings, chunks, query)

    def record(self, output_id: str, context: CaseContext | None) -> None:
        """Keep with the output what retrieval put into its prompt (only when it retrieved)."""
        if context is None or not context.query or context.own or self.store is None:
            return  # nothing was searched for this prompt
        self.store.retrieval.record_for_output(output_id, context.settings, context.chunks)


def recorded(store: Store, output_id: str) -> tuple[RetrievalSettings, list[Retrieved]] | None:
    try:
        return store.retrieval.for_output(output_id)
    except WorkbenchError:
        return None


def sent_variables(store: Store, output: Output | None,
                   variables: dict[str, str]) -> dict[str, str]:
    """A case's variables as ``output``'s prompt had them: ``context`` filled with the chunks
    recorded for it, or empty when it retrieved nothing, exactly as the comparison filled it
    (so a judge's question, a likelihood or the token inspector see the prompt that was
    sent, not the case without its retrieved context)."""
    found = recorded(store, output.id) if output is not None else None
    settings, chunks = found if found is not None else (RetrievalSettings(), ())
    return fill_context(variables, settings, chunks).variables


def recorded_many(store: Store, output_ids: list[str]
                  ) -> dict[str, tuple[RetrievalSettings, list[Retrieved]]]:
    """``recorded`` for many outputs in one read (those that retrieved nothing left out)."""
    try:
        return store.retrieval.for_outputs(output_ids)
    except WorkbenchError:
        return {}


def groundings(store: Store, outputs: Iterable[Output]) -> dict[str, GroundingReport]:
    """Output id -> the grounding check of its answer against the chunks its prompt
    contained, for the answered outputs that had retrieved chunks."""
    answered = [output for output in outputs if output.answered]
    found = recorded_many(store, [output.id for output in answered])
    return {output.id: check_grounding(output.text, found[output.id][1])
            for output in answered if output.id in found}


def chunks_lookup(store: Store):
    """``output -> chunks or None`` for the evaluator's ``grounded`` assertion."""
    def lookup(output: Output) -> Sequence[Retrieved] | None:
        found = recorded(store, output.id)
        return None if found is None else found[1]
    return lookup


def retrieval_scores(store: Store, run, outputs: Iterable[Output]):
    """recall@k and MRR per variant of ``run``, from the chunks recorded with its outputs and
    the gold sources its cases name (empty when no case names any)."""
    if not any(variant.retrieval.active for variant in run.variants):
        return ()  # nothing retrieved, nothing to score (and nothing to read)
    case_set = store.case_sets.get(run.case_set_id) if run.case_set_id else None
    gold = {case.id: gold_sources(case.variables) for case in (case_set.cases if case_set
                                                               else ())}
    if not any(gold.values()):
        return ()
    # only what scoring reads of each output: ``outputs`` may be the store's stream of a run
    with_gold = [(output.id, output.variant_id, output.case_id) for output in outputs
                 if gold.get(output.case_id or "")]
    found = recorded_many(store, [ident for ident, _, _ in with_gold])
    rows = [(variant, case, gold[case], found[ident][1])
            for ident, variant, case in with_gold if ident in found]
    return score_retrieval([(v.id, v.label or f"Variant {i}")
                            for i, v in enumerate(run.variants, 1)], rows,
                           {v.id: v.retrieval.k for v in run.variants if v.retrieval.active})


def sets_for_session(service, session_id: str | None) -> list:
    """The document sets a session can use: its own, then the global ones (by name)."""
    return sorted(service.sets(session_id),
                  key=lambda s: (s.session_id is None, s.name.casefold()))
