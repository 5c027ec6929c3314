"""Start loading the default model while the window is still being imported and built.

Loading the bundled model takes llama.cpp ~0.2 s in a fresh process; the GUI's imports and
window take ~0.5 s before the window asks for a model. Started first, the model host's start-up
overlaps the GUI's, and "model ready" follows llama.cpp's own load time instead of adding to it.

No Qt here, and no database: the window's model list needs the store, but the model it loads
at start without ``--model`` is the bundled one whenever the user has not hidden it (the
catalogue lists it first). The window's own load then finds this host already started (the
service shares hosts by their LoadSettings) and waits for it instead of starting another.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..core.model_info import LoadSettings
from ..services.models import DEFAULT_N_CTX, ModelService

_UNDECIDED = object()


class ModelPreload:
    """The service the app will use, and the host being started in it (if any)."""

    def __init__(self, models: ModelService, settings: LoadSettings | None):
        self.models = models
        self.settings = settings
        self._lock = threading.Lock()
        self._host = None  # the preloaded host, once started
        self._kept = _UNDECIDED  # the host the window's first load ended with

    @classmethod
    def start(cls, model: str | None) -> ModelPreload:
        models = ModelService()
        preload = cls(models, default_settings(models) if model is None else None)
        if preload.settings is not None:
            threading.Thread(target=preload._load, daemon=True, name="model-preload").start()
        return preload

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
        """The window's first load ended with ``kept`` (a host, or None when it failed): a
        preloaded host it did not use (the guess of its settings was wrong) must not sit in
        memory. Unloading waits for a host still starting, so it happens off this thread."""
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
