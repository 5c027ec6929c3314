"""Retrieval in a suite: a provider's ``config.retrieval`` fills ``{{ context }}`` from a
document set, so `workbench eval` compares prompts with and without retrieved context headlessly,
as the grid's Retrieval column does::

    providers:
      - {id: SmolLM2-135M-Instruct, label: plain}
      - id: SmolLM2-135M-Instruct
        label: with handbook
        config: {max_tokens: 64, retrieval: {set: handbook, mode: hybrid, k: 4}}

``mode`` is ``bm25`` unless given (it needs no embedding model); ``k`` is 4; ``score_floor`` is
optional. The set is looked up among the global document sets (a suite runs in a session of its
own), and a missing set, or a dense search over a set never embedded, is named before anything
is generated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...core.retrieval import RETRIEVAL_MODES, RetrievalSettings
from ...core.suites import SuiteProblem, SuiteProvider
from .suite_yaml import LinedMap, SuiteReader, is_number, text_of

RETRIEVAL_KEYS = ("set", "mode", "k", "score_floor")
DEFAULT_MODE = "bm25"
DEFAULT_K = 4
SHAPE = "{set: NAME, mode: bm25|dense|hybrid, k: N}"


def read_retrieval(reader: SuiteReader, node: Any, line: int | None) -> dict[str, Any] | None:
    """A provider's ``config.retrieval`` as plain data (None, with problems noted, when it is
    not usable)."""
    if not isinstance(node, LinedMap):
        reader.problem(line, "retrieval", f"must be a mapping: {SHAPE}")
        return None
    reader.unsupported(node, RETRIEVAL_KEYS, "in retrieval")
    name = text_of(reader, node.get("set"), node.line_of("set"), "set")
    if not name:
        reader.problem(line, "retrieval", f"needs the document set's name: {SHAPE}")
        return None
    found: dict[str, Any] = {"set": name}
    mode = node.get("mode", DEFAULT_MODE)
    if mode not in RETRIEVAL_MODES:
        reader.problem(node.line_of("mode") or line, "mode",
                       f"takes one of {', '.join(RETRIEVAL_MODES)}, not {mode!r}")
        return None
    found["mode"] = mode
    k = node.get("k", DEFAULT_K)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        reader.problem(node.line_of("k") or line, "k",
                       f"takes a whole number of chunks, 1 or more, not {k!r}")
        return None
    found["k"] = k
    floor = node.get("score_floor")
    if floor is not None:
        if not is_number(floor):
            reader.problem(node.line_of("score_floor") or line, "score_floor",
                           f"takes a number, not {floor!r}")
            return None
        found["score_floor"] = float(floor)
    return found


def retrieval_of(provider: SuiteProvider) -> RetrievalSettings:
    """The variant's retrieval (none when the provider's config names no set)."""
    found = provider.config.get("retrieval")
    if not isinstance(found, dict) or not found.get("set"):
        return RetrievalSettings()
    floor = found.get("score_floor")
    return RetrievalSettings(str(found["set"]), str(found.get("mode", DEFAULT_MODE)),
                             int(found.get("k", DEFAULT_K)),
                             None if floor is None else float(floor))


def retrieval_config(settings: RetrievalSettings) -> dict[str, Any]:
    """``config.retrieval`` for a variant's settings (the suite export)."""
    found: dict[str, Any] = {"set": settings.set_name, "mode": settings.mode, "k": settings.k}
    if settings.score_floor is not None:
        found["score_floor"] = settings.score_floor
    return found


def retrieval_problems(service, providers: Iterable[SuiteProvider],
                       source: str) -> list[SuiteProblem]:
    """Each provider whose document set is missing, or whose dense search has no vectors.
    ``service``: the retrieval lab's RetrievalService (only asked when a provider retrieves)."""
    problems = []
    sets = None
    for provider in providers:
        settings = retrieval_of(provider)
        if not settings.active:
            continue
        if sets is None:
            sets = {s.name: s for s in service.sets(None)}
        found = sets.get(settings.set_name)
        if found is None:
            known = ", ".join(sorted(sets)) or "none yet"
            problems.append(SuiteProblem(source, provider.line, "providers", (
                f"{provider.name}: no global document set is named '{settings.set_name}' "
                f"(the global sets: {known}); add one with `workbench docs add "
                f"{settings.set_name} PATH…`")))
        elif settings.mode in ("dense", "hybrid") and found.embedding is None:
            problems.append(SuiteProblem(source, provider.line, "providers", (
                f"{provider.name}: the document set '{settings.set_name}' has no embeddings "
                f"for a {settings.mode} search; use mode: bm25, or embed it with "
                f"`workbench docs reembed {settings.set_name} --model M`")))
    return problems
