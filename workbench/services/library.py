"""Use cases of the model library: list with metadata, add, watch, remove, Hub search, pull, fit.

Blocking and thread-safe: the GUI runs these in background jobs, the CLI and the tests call them
directly. Hub calls read HF_ENDPOINT / HF_HUB_OFFLINE / the login token at call time, unless an
``endpoint`` or ``token`` is given here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.catalog import ModelEntry
from ..core.errors import ModelFileError, WorkbenchError
from ..core.job_state import CANCELLED, DONE, JobProgress, JobState, JobWatcher
from ..core.library_errors import DownloadCancelled, LibraryError
from ..core.paths import AppPaths, app_paths
from ..library.bundled import BUNDLED_NAME
from ..library.download import ProgressCallback, pull_model
from ..library.fit import F16_CACHE, FitEstimate, KVTypes, estimate_fit
from ..library.folders import SETTINGS_NAME, LibrarySettings, SettingsFile, check_folder
from ..library.gguf_metadata import GGUFInfo, MetadataCache
from ..library.hashing import file_sha256
from ..library.hf_env import hub_cache_dir
from ..library.hub import Hub, HubRepo, RepoFiles
from ..library.known_models import KnownModel, known_models, library_models, resolve_model
from ..library.load_usage import LoadUsage, load_usage
from ..library.offload import OffloadChoice, choose_offload, offload_in_build
from ..library.splits import model_stem, part_paths
from ..library.system_memory import Memory, system_memory
from .job_start import start_job

if TYPE_CHECKING:  # the CLI and the model service name models without loading SQLAlchemy
    from ..store import Store


@dataclass(frozen=True)
class LibraryModel:
    name: str
    path: Path
    source: str
    entry_id: str | None = None
    repo: str = ""
    info: GGUFInfo | None = None
    problem: str = ""  # why the metadata could not be read (the file is then not usable)


class LibraryService:
    def __init__(self, paths: AppPaths | None = None, store: Store | None = None, *,
                 endpoint: str | None = None, token: str | None = None):
        self.paths = (paths or app_paths()).ensure()
        self._store = store
        self._owns_store = store is None
        self._store_lock = threading.Lock()
        self.hub = Hub(endpoint=endpoint, token=token)
        self.settings_file = SettingsFile(self.paths.config / SETTINGS_NAME)
        self.metadata_cache = MetadataCache(self.paths.cache / "gguf-metadata.json")

    @property
    def store(self) -> Store:
        from ..store import Store

        with self._store_lock:
            if self._store is None:
                self._store = Store.open(self.paths.database)
            return self._store

    def close(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None

    # -- listing ---------------------------------------------------------------------------

    @property
    def settings(self) -> LibrarySettings:
        return self.settings_file.load()

    def known(self) -> list[KnownModel]:
        settings = self.settings
        return known_models(
            self.paths.models, entries=self.store.catalog.models(),
            watched=settings.watched_folders,
            hf_cache=hub_cache_dir() if settings.scan_hf_cache else None,
            hidden=settings.hidden,
        )

    def models(self, with_metadata: bool = True) -> list[LibraryModel]:
        """Every usable model; metadata from the cache (first read of a big file: ~2 s)."""
        return [self.describe(m) if with_metadata else _plain(m) for m in self.known()]

    def names(self) -> ModelNames:
        """The one name of every model file, as the library lists them now."""
        return ModelNames(self.known())

    def describe(self, model: KnownModel) -> LibraryModel:
        try:
            info = self.metadata_cache.info(model.path)
        except WorkbenchError as error:
            return LibraryModel(model.name, model.path, model.source, model.entry_id, model.repo,
                                None, str(error))
        return LibraryModel(model.name, model.path, model.source, model.entry_id, model.repo,
                            info)

    def info(self, name_or_path: str | None) -> GGUFInfo:
        """GGUF metadata of a model by name (see models()) or path, without loading it."""
        return self.metadata_cache.info(self.resolve(name_or_path))

    def resolve(self, name_or_path: str | None) -> Path:
        if name_or_path and Path(name_or_path).expanduser().is_file():
            return Path(os.path.abspath(Path(name_or_path).expanduser()))  # no store needed
        return resolve_model(name_or_path, self.paths.models, self.known())

    # -- adding and removing ---------------------------------------------------------------

    def add_file(self, path: str | Path, *, source: str = "local", extra: dict | None = None,
                 sha256: str | None = None) -> LibraryModel:
        """Add a GGUF file where it is (no copy). A file that is not a usable GGUF is refused."""
        file = Path(os.path.abspath(Path(path).expanduser()))
        info = self.metadata_cache.info(file)  # raises ModelFileError for bad files
        metadata = {"gguf": info.to_dict(), **(extra or {})}
        entry = self.store.catalog.upsert_model(ModelEntry(
            path=str(file), sha256=sha256 or file_sha256(file), size=info.file_size,
            metadata=metadata, name=_unique_name(info, file, self.known()), source=source))
        self._save(self.settings.hiding(file, hide=False))
        return LibraryModel(entry.name, file, entry.source, entry.id, metadata.get("repo", ""),
                            info)

    def watch_folder(self, folder: str | Path) -> Path:
        path = check_folder(folder)
        self._save(self.settings.watching(path))
        return path

    def remove(self, model: LibraryModel | KnownModel, *, delete_file: bool = False) -> None:
        """Take a model out of the library; with ``delete_file`` also delete it from disk."""
        if model.source == "bundled":
            raise LibraryError(f"Cannot remove {model.name}: it is the bundled model, part of the "
                               "installed package.")
        if model.entry_id is not None:
            self.store.catalog.remove_model(model.entry_id)
        if delete_file:
            for part in part_paths(Path(model.path)):
                _delete(part)
            self.metadata_cache.forget(model.path)
            self._save(self.settings.hiding(Path(model.path), hide=False))
        else:
            # The file stays; it may also lie in a scanned folder, so stop listing it there too.
            self._save(self.settings.hiding(Path(os.path.abspath(model.path))))

    def _save(self, settings: LibrarySettings) -> None:
        self.settings_file.save(settings)

    # -- the Hub ---------------------------------------------------------------------------

    def search(self, text: str, limit: int = 30) -> list[HubRepo]:
        return self.hub.search(text, limit)

    def repo_files(self, repo: str, revision: str | None = None) -> RepoFiles:
        return self.hub.files(repo, revision)

    def start_pull(self, repo: str, filename: str, *, revision: str | None = None,
                   watcher: JobWatcher | None = None) -> JobState:
        """Download ``filename`` in a thread, as a job: its progress in bytes of the whole
        model, the message the phase with speed and time left ("downloading · 1.2 MiB/s ·
        00:03 left", "verifying sha256…", "done"), the library model its outcome. A cancel ends
        it CANCELLED, keeping the bytes received, so a new pull resumes. ``watcher`` is bound
        before the work starts: no event is missed."""
        return start_job(f"download {filename}",
                         lambda job: self._pull_job(job, repo, filename, revision), watcher,
                         thread_name="download")

    def _pull_job(self, job: JobState, repo: str, filename: str, revision: str | None):
        def report(progress: JobProgress) -> None:
            job.set_progress(progress.done, progress.total, progress.message)

        try:
            model = self.pull(repo, filename, revision=revision, progress=report, cancel=job)
        except DownloadCancelled:
            job.finish(None, status=CANCELLED)
            return None
        job.finish(model, status=DONE)  # a cancel after the last byte undoes nothing
        return model

    def pull(self, repo: str, filename: str, *, revision: str | None = None,
             progress: ProgressCallback | None = None,
             cancel: JobState | None = None) -> LibraryModel:
        """Download (or reuse from the HF cache), verify, and add to the library."""
        from ..library.hf_env import is_offline

        if is_offline():
            from ..library.hub import HubModelFile

            parts = tuple(p.as_posix() for p in part_paths(Path(filename)))
            target = HubModelFile(filename, parts, 0)  # the cache is all there is
            sha = None
        else:
            files = self.hub.files(repo, revision)
            target = files.find(filename)
            sha = target.sha256.get(target.filename)
        path = pull_model(repo, target, revision=revision, endpoint=self.hub._endpoint,
                          token=self.hub._token, progress=progress, cancel=cancel)
        try:
            return self.add_file(path, source="hub", sha256=sha, extra={
                "repo": repo, "filename": target.filename, "revision": revision or "main"})
        except ModelFileError as error:
            raise ModelFileError(str(path), f"it was downloaded from {repo} but is not a usable "
                                            f"GGUF model ({error.reason})") from None

    # -- memory ----------------------------------------------------------------------------

    def memory(self) -> Memory:
        return system_memory()

    def fit(self, name_or_path: str | None, n_ctx: int, *, memory: Memory | None = None,
            offload_supported: bool | None = None,
            n_parallel: int | None = None) -> FitEstimate:
        """The memory estimate. With GPU offload and no ``n_parallel``, it is the estimate for
        the parallel sequences auto would load with, and a note says auto's choice and why."""
        memory = memory or system_memory()
        info = self.info(name_or_path)
        choice = None
        if n_parallel is None and offload_supported is not False and memory.free_vram:
            if offload_supported or offload_in_build():
                choice = choose_offload(info, n_ctx, None, memory, True)
                n_parallel = choice.n_parallel
        estimate = estimate_fit(info, n_ctx, memory, offload_supported, n_parallel)
        if choice is None:
            return estimate
        note = (f"auto loads it with {choice.n_gpu_layers} GPU layers and "
                f"{choice.n_parallel} parallel: {choice.describe()}")
        return replace(estimate, notes=(*estimate.notes, note))

    def offload_choice(self, name_or_path: str | None, n_ctx: int, *,
                       memory: Memory | None = None, offload_supported: bool | None = None,
                       n_parallel: int | None = None, n_gpu_layers: int | None = None,
                       kv: KVTypes = F16_CACHE) -> OffloadChoice:
        """What "auto" would load this model with: GPU layers and parallel sequences chosen
        together from the memory estimate (fewer sequences before fewer layers), and why."""
        supported = offload_in_build() if offload_supported is None else offload_supported
        return choose_offload(self.info(name_or_path), n_ctx, n_parallel,
                              memory or system_memory(), bool(supported), kv=kv,
                              n_gpu_layers=n_gpu_layers)

    @staticmethod
    def actual_usage(host) -> LoadUsage:
        """What a loaded model (a started ModelHost) uses: llama.cpp's buffers and the RSS."""
        return load_usage(host.log_path, host.pid)


class ModelNames:
    """One name per model file, everywhere a model is named (model bar, variants, status bar,
    history, evaluation, exports, CLI): the library's. That is the name the file was added
    under, the bundled model's name, or else the file's stem, as the library lists it. The
    GGUF's own ``general.name`` ("Smollm2 135M 8k Lc100K Mix1 Ep2") is no model's name, only
    a detail beside it (``detail``): three names for one model read as three models."""

    def __init__(self, known: Iterable[KnownModel] = ()):
        self._by_file: dict[str, str] = {}
        self._by_name: dict[str, str] = {}  # lower-case name -> the name as listed
        for model in known:
            self._by_file.setdefault(_file_key(model.path), model.name)
            self._by_name.setdefault(model.name.lower(), model.name)

    @classmethod
    def listed(cls, paths: AppPaths | None = None, store: Store | None = None) -> ModelNames:
        """Names as the library lists them now (reads the database and scans folders)."""
        return cls(library_models(paths or app_paths(), store))

    def of(self, model: str | os.PathLike | None) -> str:
        """The name of a model given as a library name, a path to its file, or None (the
        bundled model). A backend reference (openai+http://…) is its own name."""
        if model is None:
            return BUNDLED_NAME
        text = os.fspath(model)
        if _is_reference(text):
            return text
        return self.library_name(text) or model_stem(Path(text).name)

    def library_name(self, model: str | os.PathLike) -> str | None:
        """The name the library lists this model (a name or a path) by; None when it does
        not list it (then only its path loads it)."""
        text = os.fspath(model)
        return self._by_name.get(text.lower()) or self._by_file.get(_file_key(text))

    @staticmethod
    def detail(gguf_name: str | None) -> str:
        """The GGUF's own name, as a detail line (a tooltip, an info row)."""
        return f"GGUF name: {gguf_name}" if gguf_name else ""


def _file_key(path: str | os.PathLike) -> str:
    """Links to one file (a Hugging Face cache blob) are one model."""
    return os.path.realpath(Path(path).expanduser())


def _is_reference(text: str) -> bool:
    scheme = text.split("://", 1)[0]
    return "://" in text and "+" in scheme


def _plain(model: KnownModel) -> LibraryModel:
    return LibraryModel(model.name, model.path, model.source, model.entry_id, model.repo)


def _unique_name(info: GGUFInfo, file: Path, known: list[KnownModel]) -> str:
    """The file's stem, unless another model already has that name (then the parent too)."""
    from ..library.splits import model_stem

    name = model_stem(file.name)
    taken = {m.name.lower() for m in known if os.path.abspath(m.path) != str(file)}
    if name.lower() not in taken:
        return name
    return f"{file.parent.name}/{name}"


def _delete(path: Path) -> None:
    """Delete a model file; for a Hugging Face cache link, its blob too (nothing else uses it)."""
    try:
        blob = path.resolve() if path.is_symlink() else None
        path.unlink(missing_ok=True)
        if blob is not None:
            blob.unlink(missing_ok=True)
    except OSError as error:
        raise LibraryError(f"Cannot delete {path}: {error.strerror}.") from None
