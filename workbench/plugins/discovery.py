"""Where plugins come from: entry points, the first-party plugins' folder, the user's folder."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ENTRY_POINT_GROUP = "workbench"


def first_party_folder() -> Path | None:
    """The folder of the ``workbench_plugins`` package, wherever it is installed: the
    repository's plugins/ (an editable install maps the package there) or site-packages (the
    wheel carries it beside ``workbench``). Found through the import system, not a path next
    to this file, which once installed is site-packages itself."""
    spec = importlib.util.find_spec("workbench_plugins")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


REPO_PLUGINS = first_party_folder()


@dataclass(frozen=True)
class Candidate:
    """A plugin found but not imported yet (safe mode lists these without loading them)."""

    name: str
    source: str  # "entry point" | "plugins folder" | "user folder"
    location: str
    version: str
    load: Callable[[], ModuleType]


def _from_folder(folder: Path, source: str) -> Iterator[Candidate]:
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            file, search = entry / "__init__.py", [str(entry)]
        elif entry.suffix == ".py":
            file, search = entry, None
        else:
            continue
        name = entry.stem
        yield Candidate(name, source, str(entry), _folder_version(file),
                        lambda n=name, f=file, s=search: _import_file(n, f, s))


def _folder_version(file: Path) -> str:
    for line in file.read_text(errors="replace").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("'\"")
    return ""


def _import_file(name: str, file: Path, search: list[str] | None) -> ModuleType:
    module_name = f"workbench_plugin_{name}"
    spec = importlib.util.spec_from_file_location(module_name, file,
                                                  submodule_search_locations=search)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _from_entry_points() -> Iterator[Candidate]:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        yield Candidate(entry_point.name, "entry point", entry_point.value,
                        dist.version if dist else "", entry_point.load)


def candidates(user_folder: Path, repo_folder: Path | None = REPO_PLUGINS) -> list[Candidate]:
    found: list[Candidate] = []
    seen: set[str] = set()
    sources = [_from_entry_points()]
    if repo_folder is not None:
        sources.append(_from_folder(repo_folder, "plugins folder"))
    sources.append(_from_folder(user_folder, "user folder"))
    for source in sources:
        for candidate in source:
            if candidate.name not in seen:  # the first place a name is found wins
                seen.add(candidate.name)
                found.append(candidate)
    return found
