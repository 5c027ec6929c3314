"""Start the plugins, then the default model, while the window is still being imported and built.

The plugins come first because they choose the engine of every model (the ``llamacpp``
backend: the built-in llama.cpp host unless a plugin replaced it), so a plugin's engine sees
this load too. Loading the bundled model takes llama.cpp ~0.2 s in a fresh process; the GUI's
imports and window take ~0.5 s before the window asks for a model. Started first, the
plugins and the model host's start-up overlap the GUI's, and "model ready" follows llama.cpp's
own load time instead of adding to it. The window takes the plugin manager from here
(``plugins()``) rather than starting a second one.

No Qt here, and no database: the window's model list needs the store, but the model it loads
at start without ``--model`` is the bundled one whenever the user has not hidden it (the
library lists it first). The window's own load then finds this host already started (the
service shares hosts by their LoadSettings) and follows its load instead of starting another.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from ..core.model_info import LoadSettings
from ..services.models import DEFAULT_N_CTX, ModelService
from ..services.plugins import PluginManager, start_plugins

_UNDECIDED = object()


class ModelPreload:
    """The service the app will use, its plugins, and the host being started in it (if any)."""

    def __init__(self, models: ModelService, settings: LoadSettings | None,
                 safe_mode: bool = False):
        self.models = models
        self.settings = settings
        self.safe_mode = safe_mode
        self._lock = threading.Lock()
        self._host = None  # the preloaded host, once started
        self._kept = _UNDECIDED  # the host the window's first load ended with
        self._plugins: PluginManager | None = None
        self._plugins_error: BaseException | None = None
        self._plugins_started = threading.Event()

    @classmethod
    def start(cls, model: str | None, safe_mode: bool = False) -> ModelPreload:
        models = ModelService()
        preload = cls(models, default_settings(models) if model is None else None, safe_mode)
        threading.Thread(target=preload._run, daemon=True, name="model-preload").start()
        return preload

    def _run(self) -> None:
        try:
            self._plugins = start_plugins(self.models, safe_mode=self.safe_mode)
        except BaseException as error:  # noqa: BLE001 - the window starts them again and says
            traceback.print_exc()
            self._plugins_error = error
        finally:
            self._plugins_started.set()
        if self.settings is not None and self._plugins_error is None:
            self._load()

    def plugins(self) -> PluginManager | None:
        """The plugin manager started here (waits for it); None if starting it failed."""
        self._plugins_started.wait()
        return self._plugins

    def _load(self) -> None:
        try:
            host = self.models.load(self.settings)
        except Exception:  # noqa: BLE001 - the window's own load reports what went wrong
            return
        with self._lock:
            self._host, kept = host, self._kept
        if kept is not _UNDECIDED and kept is not host:
            self.models.unload(host)

    def settle(self, kept) -> None:
        """The window's first load ended with ``kept`` (a host, or None when it failed or was
        cancelled): a preloaded host it did not use (the guess of its settings was wrong) must
        not sit in memory. Unloading waits for a host still starting, so it happens off this
        thread."""
        with self._lock:
            self._kept, host = kept, self._host
        if host is not None and host is not kept:
            threading.Thread(target=self.models.unload, args=(host,), daemon=True,
                             name="model-preload-unload").start()


def default_settings(models: ModelService) -> LoadSettings | None:
    """What the window loads at start without ``--model`` (the picker's defaults: n_ctx
    DEFAULT_N_CTX, GPU layers automatic), or None when that is not the bundled model."""
    path = models.default_path()
    if path is None:
        return None
    # Through the service, as the window's load will: the same settings (a chat template the
    # user chose for the file included) share one host.
    return models.settings_for(str(Path(path)), n_ctx=DEFAULT_N_CTX)
