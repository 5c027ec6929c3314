"""The model the window works with: loaded as a job (progress, cancel) off the GUI thread,
everyone told when it changes."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Signal

from ..core.chat_template import TemplateChoice
from ..core.job_state import CANCELLED, DONE, JobState
from ..core.model_info import ModelMetadata
from ..services.models import LoadedModel, ModelService
from .job_bridges import JobBridge


class ModelController(QObject):
    loading = Signal(str)  # what is being loaded
    progress = Signal(object)  # JobProgress of the load in flight (fraction: weights read)
    loaded = Signal(object)  # ModelMetadata
    failed = Signal(str)
    cancelled = Signal()  # the load was cancelled: the model in use (if any) stays

    def __init__(self, service: ModelService, parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.host: LoadedModel | None = None
        self.name: str | None = None
        self.n_ctx = 4096
        self.n_gpu_layers: int | None = None
        self.engine: dict = {}  # engine flags as LoadSettings fields (flash_attn, …)
        self.job: JobState | None = None  # the load in flight

    @property
    def metadata(self) -> ModelMetadata | None:
        return self.host.metadata if self.host else None

    def load(self, name: str | None, n_ctx: int = 4096, n_gpu_layers: int | None = None,
             engine: dict | None = None) -> None:
        self._start(name, n_ctx, n_gpu_layers, dict(engine or {}))

    def choose_template(self, name: str | None, choice: TemplateChoice | None, n_ctx: int = 4096,
                        n_gpu_layers: int | None = None, engine: dict | None = None) -> None:
        """Keep ``choice`` for the model file and load it with it; the copy loaded with the
        old template is unloaded once the new one is up (two copies of a large model would
        not fit)."""
        self._start(name, n_ctx, n_gpu_layers, dict(engine or {}),
                    template=choice, replacing=self.host)

    def cancel_load(self) -> None:
        """Stop the load in flight; the model loaded before it stays in use."""
        if self.job is not None:
            self.job.cancel()

    def _start(self, name, n_ctx, n_gpu_layers, engine, **job_options) -> None:
        self.loading.emit(name or "the bundled model")
        bridge = JobBridge(self)
        bridge.progress.connect(self.progress.emit)
        bridge.finished.connect(partial(self._ended, bridge, (name, n_ctx, n_gpu_layers, engine)))
        self.job = self.service.start_load(name, watcher=bridge.watcher, n_ctx=n_ctx,
                                           n_gpu_layers=n_gpu_layers, **job_options, **engine)

    def _ended(self, bridge: JobBridge, asked: tuple, state: JobState) -> None:
        bridge.deleteLater()
        if state is self.job:
            self.job = None
        if state.status == DONE:
            self.host = state.outcome
            self.name, self.n_ctx, self.n_gpu_layers, self.engine = asked
            self.loaded.emit(self.host.metadata)
        elif state.status == CANCELLED:
            self.cancelled.emit()
        else:
            self.failed.emit(state.error or "The model could not be loaded.")
