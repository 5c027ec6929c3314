"""Load plugins, call their hooks one plugin at a time, and switch off the ones that fail.

A plugin that fails to import, raises inside a hook, returns the wrong type or does not answer
within ``hook_timeout_s`` is reported (name, reason, traceback) and disabled; the app and the
other plugins carry on. Built-in features register through the same hooks.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from ..core.errors import WorkbenchError
from ..core.paths import AppPaths, app_paths
from . import hookspecs
from .builtin import BUILTIN_PLUGINS
from .contributions import KINDS, Flag, ScoreResult
from .discovery import REPO_PLUGINS, candidates

SAFE_MODE_STATUS = "not loaded (safe mode)"


class PluginCallError(WorkbenchError):
    """No plugin can do what was asked, or the one that could failed (it is switched off)."""


@dataclass
class PluginRecord:
    name: str
    source: str
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    status: str = "active"  # active | disabled | failed | not loaded (safe mode)
    error: str = ""  # one line: what went wrong
    details: str = ""  # the traceback, for the details pane
    description: str = ""  # the module docstring's first paragraph, for the Plugins dialog

    @property
    def active(self) -> bool:
        return self.status == "active"


class PluginManager:
    def __init__(self, *, safe_mode: bool = False, paths: AppPaths | None = None,
                 repo_folder: Path | None = REPO_PLUGINS, hook_timeout_s: float = 5.0):
        self.safe_mode = safe_mode
        self.paths = paths or app_paths()
        self.repo_folder = repo_folder
        self.hook_timeout_s = hook_timeout_s
        self.pm = pluggy.PluginManager("workbench")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._cache: dict[str, list[tuple[str, Any]]] = {}
        self._lock = threading.RLock()
        self.on_failure: Callable[[PluginRecord], None] | None = None

    # -- loading -------------------------------------------------------------------------

    @property
    def settings_file(self) -> Path:
        return self.paths.config / "plugins.json"

    def disabled_names(self) -> set[str]:
        try:
            return set(json.loads(self.settings_file.read_text()).get("disabled", []))
        except (OSError, ValueError):
            return set()

    def load(self, *, discover: bool = True) -> PluginManager:
        """The built-ins, then (``discover``) every plugin found where plugins are installed."""
        for name, module in BUILTIN_PLUGINS.items():
            self._register(PluginRecord(name, "built-in"), module)
        if not discover:
            return self
        disabled = self.disabled_names()
        for candidate in candidates(self.paths.plugins, self.repo_folder):
            record = PluginRecord(candidate.name, candidate.source, candidate.version)
            if self.safe_mode:
                record.status = SAFE_MODE_STATUS
            elif candidate.name in disabled:
                record.status = "disabled"
            else:
                try:
                    module = candidate.load()
                except BaseException as error:  # noqa: BLE001 - SyntaxError, SystemExit, …
                    self._record_failure(record, f"failed to import: {_one_line(error)}",
                                         traceback.format_exc())
                    continue
                self._register(record, module)
                continue
            self.records[record.name] = record
        return self

    def _register(self, record: PluginRecord, module) -> None:
        try:
            self.pm.register(module, name=record.name)
        except Exception as error:  # noqa: BLE001 - e.g. a hook name that does not exist
            self._record_failure(record, f"cannot be registered: {_one_line(error)}",
                                 traceback.format_exc())
            return
        record.hooks = sorted(impl.name for impl in self._impls_of(record.name))
        record.version = record.version or str(getattr(module, "__version__", ""))
        record.description = record.description or _first_paragraph(module.__doc__)
        self.records[record.name] = record

    def _impls_of(self, name: str):
        plugin = self.pm.get_plugin(name)
        return [caller for caller in self.pm.get_hookcallers(plugin) or []] if plugin else []

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Persist the choice; it takes effect the next time plugins are loaded."""
        disabled = self.disabled_names()
        (disabled.discard if enabled else disabled.add)(name)
        self.settings_file.parent.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(json.dumps({"disabled": sorted(disabled)}, indent=2))
        record = self.records.get(name)
        if record is not None and record.status in ("active", "disabled"):
            record.status = "active" if enabled else "disabled"
            if not enabled:
                self._unregister(name)

    # -- isolation -----------------------------------------------------------------------

    def _record_failure(self, record: PluginRecord, error: str, details: str) -> None:
        record.status, record.error, record.details = "failed", error, details
        self.records[record.name] = record
        self._unregister(record.name)
        if self.on_failure is not None:
            self.on_failure(record)

    def _unregister(self, name: str) -> None:
        with self._lock:
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
            self._cache.clear()

    def fail(self, name: str, error: str, details: str = "") -> None:
        record = self.records.get(name) or PluginRecord(name, "unknown")
        if record.status != "failed":
            self._record_failure(record, error, details)

    def guarded(self, plugin: str, what: str, fn: Callable, *args,
                check: Callable[[Any], bool] | None = None, expected: str = "",
                in_thread: bool = True) -> tuple[bool, Any]:
        """Call plugin code in a worker thread: (True, result) or (False, None) if it failed.

        ``in_thread=False`` is for code that must run on the caller's thread (Qt widgets are
        created in the GUI thread only); it is still isolated from errors, not from hangs.
        """
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["result"] = fn(*args)
            except BaseException as error:  # noqa: BLE001
                box["error"] = error
                box["trace"] = traceback.format_exc()

        if not in_thread:
            call()
            worker = None
        else:
            worker = threading.Thread(target=call, daemon=True, name=f"plugin-{plugin}")
            worker.start()
            worker.join(self.hook_timeout_s)
        if worker is not None and worker.is_alive():
            self.fail(plugin, f"did not answer within {self.hook_timeout_s:g} s in {what}")
            return False, None
        if "error" in box:
            self.fail(plugin, f"raised in {what}: {_one_line(box['error'])}", box["trace"])
            return False, None
        result = box.get("result")
        if check is not None and not check(result):
            self.fail(plugin, f"returned the wrong type in {what}: expected {expected}, got "
                              f"{type(result).__name__} ({_short_repr(result)})")
            return False, None
        return True, result

    # -- contributions -------------------------------------------------------------------

    def contributions(self, hook: str) -> list[tuple[str, Any]]:
        """(plugin name, item) for everything active plugins registered through ``hook``."""
        with self._lock:
            if hook in self._cache:
                return self._cache[hook]
        kind = KINDS[hook]
        found: list[tuple[str, Any]] = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            name = impl.plugin_name
            items: list[Any] = []
            ok, _ = self.guarded(name, hook,
                                 lambda i=impl, found=items: _call(i, register=found.append))
            if not ok:
                continue
            wrong = [item for item in items if not isinstance(item, kind)]
            if wrong:
                self.fail(name, f"registered the wrong type in {hook}: expected {kind.__name__}, "
                                f"got {type(wrong[0]).__name__}")
                continue
            found += [(name, item) for item in items]
        with self._lock:
            self._cache[hook] = found
        return found

    def settings_of(self, plugin: str) -> list[Any]:
        """The ``Setting``s one plugin offers (none when it is off)."""
        return [item for name, item in self.contributions("register_settings") if name == plugin]

    def backends(self) -> dict[str, tuple[str, Any]]:
        """scheme -> (plugin, Backend). A plugin's backend replaces a built-in one of the same
        scheme (e.g. another engine for local files), never the other way round."""
        found: dict[str, tuple[str, Any]] = {}
        for name, backend in self.contributions("register_backends"):
            builtin = self.records.get(name) and self.records[name].source == "built-in"
            if backend.scheme in found and builtin:
                continue
            found[backend.scheme] = (name, backend)
        return found

    def scores(self, text: str, expected: str | None) -> list[ScoreResult]:
        results = []
        for name, scorer in self.contributions("register_scorers"):
            ok, value = self.guarded(name, f"scorer '{scorer.name}'", scorer.score, text, expected,
                                     check=lambda v: v is None or isinstance(v, (int, float)),
                                     expected="a number or None")
            if ok:
                results.append(ScoreResult(scorer.name, None if value is None else float(value)))
        return results

    def check_output(self, text: str) -> list[Flag]:
        flags: list[Flag] = []
        for name, output_filter in self.contributions("register_output_filters"):
            ok, found = self.guarded(
                name, f"output filter '{output_filter.name}'", output_filter.check, text,
                check=lambda v: isinstance(v, list) and all(isinstance(f, Flag) for f in v),
                expected="a list of Flag")
            if ok:
                flags += found
        return flags

    # -- files in and out: the importer and exporter hooks are the only way the app reads a
    # table or writes results, so a plugin's format sits beside the built-in ones.

    def importer_for(self, path: str | Path) -> tuple[str, Any]:
        """(plugin, Importer) that reads ``path``'s suffix; the first registered wins."""
        suffix = Path(path).suffix.lower()
        importers = self.contributions("register_importers")
        for name, importer in importers:
            if suffix in {s.lower() for s in importer.suffixes}:
                return name, importer
        known = sorted({s for _, i in importers for s in i.suffixes})
        raise PluginCallError(f"No importer reads {suffix or 'files without a suffix'} files "
                              f"({Path(path).name}); installed importers read "
                              f"{', '.join(known) or 'nothing'}.")

    def read_table(self, path: str | Path):
        """The rows of a table file (cases, examples) through its importer."""
        from ..core.tabular import Rows

        name, importer = self.importer_for(path)
        box: dict[str, BaseException] = {}

        def read():
            try:
                return importer.read(str(path))
            except WorkbenchError as error:  # a clear problem with the file, not a plugin bug
                box["error"] = error
                return None

        ok, rows = self.guarded(name, f"importer '{importer.name}'", read,
                                check=lambda v: v is None or isinstance(v, Rows),
                                expected="workbench.core.tabular.Rows")
        if "error" in box:
            raise box["error"]
        if not ok:
            raise PluginCallError(f"The importer '{importer.name}' ({name}) failed to read "
                                  f"{Path(path).name}; see Plugins ▸ Manage.")
        return rows

    def exporters(self) -> list[tuple[str, Any]]:
        return self.contributions("register_exporters")

    def exporter_for(self, suffix: str) -> tuple[str, Any]:
        """(plugin, Exporter) that writes ``suffix`` ('.csv'); the first registered wins."""
        suffix = suffix.lower()
        for name, exporter in self.exporters():
            if exporter.suffix.lower() == suffix:
                return name, exporter
        known = sorted(e.suffix for _, e in self.exporters())
        raise PluginCallError(f"No exporter writes {suffix or 'files without a suffix'} files; "
                              f"installed exporters write {', '.join(known) or 'nothing'}.")

    def export(self, path: str | Path, rows: Iterable[dict], *, summary: dict | None = None,
               suffix: str | None = None) -> str:
        """Write ``rows`` with the exporter for ``suffix`` (default: ``path``'s); returns its
        name. An exporter registered with ``summary=True`` also gets ``summary``.

        The writer runs on the caller's thread, without the hooks' time limit: ``rows`` is
        read from the store as it writes, so a large run takes as long as it takes (the
        window and ``workbench eval`` call this off the GUI thread); an error is still
        reported and switches the plugin off."""
        name, exporter = self.exporter_for(Path(path).suffix if suffix is None else suffix)
        args = (str(path), rows, summary or {}) if exporter.summary else (str(path), rows)
        ok, _ = self.guarded(name, f"exporter '{exporter.name}'", exporter.write, *args,
                             in_thread=False)
        if not ok:
            raise PluginCallError(f"The exporter '{exporter.name}' ({name}) failed to "
                                  f"write {Path(path).name}; see Plugins ▸ Manage.")
        return exporter.name

    def transform(self, messages: list) -> list:
        for name, transform in self.contributions("register_prompt_transforms"):
            ok, changed = self.guarded(name, f"prompt transform '{transform.name}'",
                                       transform.apply, list(messages),
                                       check=lambda v: isinstance(v, list), expected="a list")
            if ok:
                messages = changed
        return messages

    def emit(self, event: str, **kwargs: Any) -> None:
        for impl in getattr(self.pm.hook, event).get_hookimpls():
            self.guarded(impl.plugin_name, event, lambda i=impl: _call(i, **kwargs))


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _call(impl, **kwargs: Any) -> Any:
    """Call a hook implementation with the arguments it declares (pluggy's own rule)."""
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "…"
