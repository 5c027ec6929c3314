"""Use cases around models: list, resolve a name, load (several at once, or one as a job with
progress and cancel), unload.

The GUI, the CLI and the tests load models through this service, and the service loads every
local file through the engine the plugins chose: the ``llamacpp`` backend's ``load``, the
built-in llama.cpp plugin's unless a plugin replaced it (``set_backends``; without plugins
started, the built-in plugins are asked through a plugin manager of their own).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..core.base_model import RAW_TEMPLATE, file_looks_base
from ..core.chat_template import TemplateChoice
from ..core.errors import ModelUnloadedError, WorkbenchError
from ..core.job_state import JobState, JobWatcher
from ..core.model_info import AdapterSpec, LoadSettings, ModelMetadata
from ..core.paths import AppPaths, app_paths
from ..engine.host.client import ModelHost
from ..engine.protocol import Generation, TextModel  # noqa: F401 - the window's names for them
from ..library.bundled import bundled_model_path
from ..library.fit import KVTypes
from ..library.folders import SETTINGS_NAME, SettingsFile
from ..library.gguf_check import check_model_file
from ..library.gguf_metadata import read_gguf_info
from ..library.known_models import KnownModel, library_models, resolve_model
from ..library.offload import choose_offload, offload_in_build
from ..library.system_memory import Memory, system_memory
from ..plugins.contributions import LOCAL_SCHEME
from .model_load_job import UNCHANGED, run_load_job, start_watched

DEFAULT_N_CTX = 4096
LoadedModel = ModelHost  # what the window holds: a model running in its own host process
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CPU_ONLY_REASON = "the installed llama.cpp is CPU only (README, GPU offload, says how to change it)"


def builtin_engine():
    """The local engine the built-in plugins register (the llama.cpp host), asked through the
    plugin manager as ``start_plugins`` asks every plugin: for a service whose plugins were
    not started (a library caller, a test)."""
    from ..plugins.manager import PluginManager

    _plugin, backend = PluginManager().load(discover=False).backends()[LOCAL_SCHEME]
    return backend.load


def _without_listing(name_or_path: str | None) -> Path | None:
    """The bundled model, or a path to an existing file: found without listing the library
    (which reads the database and scans folders, ~0.2 s before a model even starts)."""
    if name_or_path is None:
        return bundled_model_path()  # the bundled model cannot be removed from the library
    looks_like_path = ("/" in name_or_path or "\\" in name_or_path
                       or name_or_path.lower().endswith(".gguf"))
    path = Path(name_or_path).expanduser()
    return path if looks_like_path and path.is_file() else None


class ModelService:
    def __init__(self, paths: AppPaths | None = None, store=None, *,
                 memory: Callable[[], Memory] = system_memory,
                 offload_supported: bool | None = None):
        self.paths = (paths or app_paths()).ensure()
        self.store = store  # the app's open Store; without one, listing opens the file briefly
        # Free RAM/VRAM and llama.cpp's offload support drive "auto" GPU layers; tests give
        # recorded figures. Offload support: None until a loaded model says (or the build's
        # files tell, see offload_in_build).
        self._memory = memory
        self._offload = offload_supported
        self._hosts: dict[LoadSettings, ModelHost] = {}
        self._offload_reasons: dict[LoadSettings, str] = {}
        self._remote: dict[str, object] = {}
        self._backends: dict = {}
        # Local files open through the ``llamacpp`` backend's hook like every model: the one
        # set_backends gives, else (no plugins started) the built-in plugin's, found at the
        # first load.
        self._local_engine = None
        self._lock = threading.Lock()

    def list_models(self) -> list[KnownModel]:
        """The bundled model, the library, the models folder, watched folders, the HF cache."""
        return library_models(self.paths, self.store)

    def resolve(self, name_or_path: str | None) -> Path:
        path = _without_listing(name_or_path) or \
            resolve_model(name_or_path, self.paths.models, self.list_models())
        check_model_file(path)
        # Keep the name a link has (Hugging Face cache): llama.cpp finds split parts by it.
        return Path(os.path.abspath(path))

    def settings_for(
        self,
        name_or_path: str | None = None,
        *,
        n_ctx: int = DEFAULT_N_CTX,
        n_gpu_layers: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
        adapters: tuple[AdapterSpec, ...] = (),
        **engine,
    ) -> LoadSettings:
        """Engine options are LoadSettings' fields (n_parallel, flash_attn, cache_type_k, …);
        None leaves llama.cpp's default. The chat template the user chose for the file (see
        ``choose_template``) comes along."""
        path = self.resolve(name_or_path)
        choice = self._settings_file().load().template_for(path)
        if engine.get("template_name") is not None:  # this load's own --chat-template NAME
            choice = TemplateChoice(name=engine.pop("template_name"))
        return LoadSettings(
            path=str(path), n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
            n_threads=n_threads, seed=seed, adapters=adapters,
            template_name=choice.name if choice else None,
            template_jinja=choice.jinja if choice else None,
            **{key: value for key, value in engine.items() if value is not None},
        )

    # -- the chat template chosen per model file --------------------------------------------

    def _settings_file(self) -> SettingsFile:
        return SettingsFile(self.paths.config / SETTINGS_NAME)

    def template_choice(self, name_or_path: str | None) -> TemplateChoice | None:
        """The user's template for this model file, None for the file's own."""
        return self._settings_file().load().template_for(self.resolve(name_or_path))

    def choose_template(self, name_or_path: str | None, choice: TemplateChoice | None) -> None:
        """Keep ``choice`` for the model file (None: the file's own again). A bad one is
        refused (ChatTemplateError naming the line) before it is kept. Takes effect on the
        next load."""
        if choice is not None:
            choice.check()
        path = self.resolve(name_or_path)
        with self._lock:
            settings_file = self._settings_file()
            settings_file.save(settings_file.load().choosing_template(path, choice))

    # -- base models: raw completion rather than chat ------------------------------------

    def looks_like_base(self, name_or_path: str | None) -> bool:
        """The file has no chat template and no name of it says instructions (a model served
        elsewhere: False, its server decides how it is prompted)."""
        if self.is_remote(name_or_path):
            return False
        return file_looks_base(read_gguf_info(self.resolve(name_or_path)))

    def raw_by_default(self, name_or_path: str | None) -> bool:
        """The file's chosen template is raw completion (every load of it, unless a variant
        names another with --chat-template)."""
        choice = self.template_choice(name_or_path)
        return choice is not None and choice.name == RAW_TEMPLATE

    # -- models served by plugin backends (e.g. openai+http://host/v1?model=x) ----------

    def set_backends(self, backends: dict) -> None:
        """scheme -> Backend from the plugins' register_backends hook: remote schemes, and the
        local engine (the ``llamacpp`` scheme's ``load``, unless a plugin replaced it)."""
        self._backends = dict(backends)
        local = backends.get(LOCAL_SCHEME)
        if local is not None and local.load is not None:
            self._local_engine = local.load

    def engine(self):
        """``load(settings, logs_dir)`` of the ``llamacpp`` backend the plugins chose."""
        if self._local_engine is None:
            self._local_engine = builtin_engine()
        return self._local_engine

    def prepare_engine(self) -> None:
        """Let the chosen local engine get ready before the model is known (the built-in
        one boots a model host process, which the first load adopts): for a command that
        is about to load a model. An engine without ``prepare`` needs nothing."""
        local = self._backends.get(LOCAL_SCHEME)
        if local is not None and local.prepare is not None:
            local.prepare(self.paths.logs)

    def is_remote(self, name: str | None) -> bool:
        if not name or "+" not in name.split("://", 1)[0]:
            return False
        return name.split("+", 1)[0] in self._backends

    def open_remote(self, reference: str):
        """The backend's model for ``scheme+rest``, opened once and shared."""
        with self._lock:
            cached = self._remote.get(reference)
        if cached is not None:
            return cached
        scheme, rest = reference.split("+", 1)
        try:
            model = self._backends[scheme].open(rest)
        except WorkbenchError:
            raise
        except Exception as error:  # noqa: BLE001 - plugin code: report, never crash
            raise WorkbenchError(f"The '{scheme}' backend could not open {rest}: "
                                 f"{type(error).__name__}: {error}") from None
        with self._lock:
            self._remote[reference] = model
        return model

    def remote_problem(self, reference: str, timeout_s: float = 3.0) -> str | None:
        """What stops a ``scheme+…`` model from being used, asked of its backend within
        ``timeout_s`` (``Backend.check``; a suite's preflight), or None when it can be used —
        or when its backend has no check (then it is found when the model is opened)."""
        scheme, _, rest = reference.partition("+")
        backend = self._backends.get(scheme) if rest else None
        if backend is None:
            return f"no plugin serves '{scheme}+' models ({reference})"
        check = getattr(backend, "check", None)
        if check is None:
            return None
        try:
            problem = check(rest, timeout_s)
        except Exception as error:  # noqa: BLE001 - plugin code: report, never crash
            return (f"the '{scheme}' backend could not check {rest}: "
                    f"{type(error).__name__}: {error}")
        return None if problem is None else str(problem)

    def load(self, settings: LoadSettings, job: JobState | None = None) -> ModelHost:
        """The host for these settings, started (blocking). Loaded models are shared.
        ``job``: the load's progress and cancel (see ``start_load``)."""
        try:
            return self._load_once(settings, job)
        except ModelUnloadedError:
            # Two callers can wait on one host; if the other's start failed, it closed the
            # host under us. Try once more, so that this caller gets llama.cpp's own reason.
            return self._load_once(settings, job)

    def start_load(self, name_or_path: str | None = None, *, watcher: JobWatcher | None = None,
                   template: TemplateChoice | None | object = UNCHANGED,
                   replacing: ModelHost | None = None, **options) -> JobState:
        """Load a model in a thread, as a job: its progress how far llama.cpp has read the
        weights (0 to 1, "loading NAME…"), the started host its outcome. A cancel ends it
        CANCELLED with no host left for it (the load is stopped, its process ended).
        ``template``: a chat template to keep for the file first (``choose_template``);
        ``replacing``: a host of the same file to unload once this one is up (two copies of a
        large model would not fit). ``watcher`` is bound before the work starts."""
        label = Path(name_or_path).name if name_or_path else "the bundled model"
        job = JobState(f"load {label}")
        if watcher is not None:
            job.watch(watcher)
        job.set_progress(0, 1, f"loading {label}…")
        threading.Thread(target=run_load_job, daemon=True, name="model-load",
                         args=(self, job, name_or_path, template, replacing, options)).start()
        return job

    # -- GPU layers: "auto" becomes the number the memory-fit estimate says fits -------------

    def offload_supported(self) -> bool | None:
        """Whether the installed llama.cpp can offload: as a loaded model said, else as the
        build's library files say (None: unknown)."""
        return self._offload if self._offload is not None else offload_in_build()

    def with_offload(self, settings: LoadSettings,
                     memory: Memory | None = None) -> tuple[LoadSettings, str]:
        """The settings a host loads with, and why that many layers go to the GPU.

        "auto" (n_gpu_layers None) becomes all layers when they fit in free VRAM, else as many
        as fit; unset parallel sequences become as many (up to 8) as leave those layers on the
        GPU (library/offload.py, choose_offload); numbers the user typed are kept. Without
        offload (or with offload unknown) the settings stay as they are and the host decides
        (0 layers on a CPU build)."""
        both_set = settings.n_gpu_layers is not None and settings.n_parallel is not None
        if both_set or not self.offload_supported():
            return settings, ""
        try:
            info = read_gguf_info(settings.path)
        except WorkbenchError:
            return settings, ""  # the host's load names what is wrong with the file
        choice = choose_offload(info, settings.n_ctx, settings.n_parallel,
                                memory or self._memory(), offload_supported=True,
                                kv=KVTypes(settings.cache_type_k, settings.cache_type_v),
                                n_gpu_layers=settings.n_gpu_layers)
        return replace(settings, n_gpu_layers=choice.n_gpu_layers,
                       n_parallel=choice.n_parallel), choice.describe()

    def _load_once(self, settings: LoadSettings, job: JobState | None) -> ModelHost:
        with self._lock:
            host = self._hosts.get(settings)
        if host is None:
            # Outside the lock: nvidia-smi can take a moment. The host stays filed under the
            # settings asked for ("auto"), so the next "auto" load finds it, even though free
            # VRAM has dropped by what it took.
            chosen, reason = self.with_offload(settings)
            engine = self.engine()
            with self._lock:
                host = self._hosts.get(settings)
                if host is None:
                    host = engine(chosen, self.paths.logs)
                    self._hosts[settings] = host
                    self._offload_reasons[settings] = reason
        try:
            start_watched(host, job)
        except Exception:
            with self._lock:
                if self._hosts.get(settings) is host:
                    del self._hosts[settings]
                    self._offload_reasons.pop(settings, None)
            host.close()
            raise
        self._note_offload(host, settings)
        return host

    def _note_offload(self, host: ModelHost, settings: LoadSettings) -> None:
        """Keep what the host says about offload, and put the reason in its metadata."""
        meta = host.metadata
        if meta is None:
            return
        self._offload = meta.offload_supported
        with self._lock:
            reason = self._offload_reasons.get(settings, "")
        if not meta.offload_supported:
            reason = CPU_ONLY_REASON
        if reason and meta.offload_reason != reason:
            host.metadata = replace(meta, offload_reason=reason)

    def load_named(self, name_or_path: str | None = None, **options) -> ModelHost:
        return self.load(self.settings_for(name_or_path, **options))

    def default_path(self) -> Path | None:
        """The model the window opens without ``--model``: the bundled one, unless the user
        removed it from the library view (None then)."""
        bundled = bundled_model_path()
        if bundled is None or not bundled.is_file():
            return None
        path = Path(os.path.abspath(bundled))
        hidden = self._settings_file().load().hidden
        return None if str(path) in {os.path.abspath(p) for p in hidden} else path

    def loaded(self) -> list[ModelHost]:
        with self._lock:
            return list(self._hosts.values())

    def unload(self, host: ModelHost) -> None:
        with self._lock:
            for key, value in list(self._hosts.items()):
                if value is host:
                    del self._hosts[key]
                    self._offload_reasons.pop(key, None)
        host.close()

    def close(self) -> None:
        for host in self.loaded():
            self.unload(host)

    def memory_use(self) -> int:
        """Resident memory of all model host processes, in bytes (0 where unknown)."""
        total = 0
        for host in self.loaded():
            pid = host.pid
            try:
                with open(f"/proc/{pid}/statm") as handle:
                    total += int(handle.read().split()[1]) * PAGE_SIZE
            except (OSError, ValueError, IndexError, TypeError):
                continue
        return total

    def describe(self, name_or_path: str | None, **options) -> ModelMetadata:
        """Load the model briefly to read what llama.cpp reports about it."""
        # One sequence: nothing is generated, and each parallel stream costs KV memory.
        settings = replace(self.settings_for(name_or_path, **options), n_ctx=512, n_parallel=1)
        settings, _ = self.with_offload(settings)
        host = self.engine()(settings, self.paths.logs)
        try:
            return host.start()
        finally:
            host.close()
