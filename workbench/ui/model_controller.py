"""The model the window works with: load it off the GUI thread, tell everyone when it changes."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.chat_template import TemplateChoice
from ..core.model_info import ModelMetadata
from ..services.models import LoadedModel, ModelService
from .jobs import run_in_background


class ModelController(QObject):
    loading = Signal(str)  # what is being loaded
    loaded = Signal(object)  # ModelMetadata
    failed = Signal(str)

    def __init__(self, service: ModelService, parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.host: LoadedModel | None = None
        self.name: str | None = None
        self.n_ctx = 4096
        self.n_gpu_layers: int | None = None
        self.engine: dict = {}  # engine flags as LoadSettings fields (flash_attn, …)

    @property
    def metadata(self) -> ModelMetadata | None:
        return self.host.metadata if self.host else None

    def load(self, name: str | None, n_ctx: int = 4096, n_gpu_layers: int | None = None,
             engine: dict | None = None) -> None:
        engine = dict(engine or {})
        self._start(name, n_ctx, n_gpu_layers, engine,
                    lambda: self.service.load_named(name, n_ctx=n_ctx,
                                                    n_gpu_layers=n_gpu_layers, **engine))

    def choose_template(self, name: str | None, choice: TemplateChoice | None, n_ctx: int = 4096,
                        n_gpu_layers: int | None = None, engine: dict | None = None) -> None:
        """Keep ``choice`` for the model file and load it with it; the copy loaded with the
        old template is unloaded once the new one is up (two copies of a large model would
        not fit)."""
        engine = dict(engine or {})
        previous = self.host

        def work() -> LoadedModel:
            self.service.choose_template(name, choice)
            host = self.service.load_named(name, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
                                           **engine)
            if previous is not None and previous is not host and \
                    previous.settings.path == host.settings.path:
                self.service.unload(previous)
            return host

        self._start(name, n_ctx, n_gpu_layers, engine, work)

    def _start(self, name, n_ctx, n_gpu_layers, engine, work) -> None:
        self.loading.emit(name or "the bundled model")

        def done(host: LoadedModel) -> None:
            self.host, self.name, self.n_ctx, self.n_gpu_layers = host, name, n_ctx, n_gpu_layers
            self.engine = engine
            self.loaded.emit(host.metadata)

        run_in_background(work, self, done, self.failed.emit)
