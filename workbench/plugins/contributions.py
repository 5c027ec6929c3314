"""What plugins register: small typed records, checked when they arrive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOCAL_SCHEME = "llamacpp"  # the scheme whose backend's ``load`` runs every local model file


@dataclass(frozen=True)
class Backend:
    """``open(reference)``: a model named ``scheme+reference`` (a remote server, say).
    ``load(settings, logs_dir)``: a local engine — an unstarted model for ``LoadSettings``
    (its ``start()`` loads it; ``start(job=…)``, when it takes one, reports the load's
    progress to the ``JobState`` and stops at its cancel); the ``llamacpp`` backend's runs
    every local GGUF file. ``prepare(logs_dir)``: get the engine ready before the model is
    known (the built-in one boots a model host process that the first load adopts), called
    by a command about to load a model.
    ``check(reference, timeout_s)``: what stops ``reference`` from being used, in one sentence,
    or None when it can be — asked within ``timeout_s`` by a suite's preflight, before
    anything is generated (without it, a bad reference is found when it is opened)."""

    scheme: str
    open: Callable[[str], Any]
    load: Callable[[Any, Any], Any] | None = None
    check: Callable[[str, float], str | None] | None = None
    prepare: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class ScoreResult:
    scorer: str
    value: float | None


@dataclass(frozen=True)
class Scorer:
    name: str
    score: Callable[[str, str | None], float | None]


@dataclass(frozen=True)
class PromptTransform:
    name: str
    apply: Callable[[list], list]


@dataclass(frozen=True)
class Flag:
    reason: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class OutputFilter:
    name: str
    check: Callable[[str], list[Flag]]


@dataclass(frozen=True)
class Importer:
    name: str
    suffixes: tuple[str, ...]
    read: Callable[[str], Any]


@dataclass(frozen=True)
class Exporter:
    """``write(path, rows)``: one dict per output (services/results_export.py's rows: a
    re-iterable, sized stream read from the store in batches, not a list). With
    ``summary=True``, ``write(path, rows, summary)`` also gets the run as a whole: its ids, its
    evaluation report, and from ``workbench eval`` the suite and the exit code."""

    name: str
    suffix: str
    write: Callable[..., None]
    summary: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    create: Callable[[Any], Any]


@dataclass(frozen=True)
class MenuAction:
    title: str
    run: Callable[[Any], None]


@dataclass(frozen=True)
class Setting:
    """A list of words or lines the user edits in the Plugins dialog. ``load()`` returns the
    current entries; ``save(entries)`` stores them where the plugin reads them, so the change
    applies without a restart."""

    label: str
    load: Callable[[], list[str]]
    save: Callable[[list[str]], None]
    help: str = ""


KINDS = {
    "register_backends": Backend, "register_scorers": Scorer,
    "register_prompt_transforms": PromptTransform, "register_output_filters": OutputFilter,
    "register_importers": Importer, "register_exporters": Exporter,
    "register_panels": Panel, "register_menu_actions": MenuAction,
    "register_settings": Setting,
}
