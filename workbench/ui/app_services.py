"""The services one window uses, made once: what the window, its menus and its panels share."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..services.compare import RunService
from ..services.evaluation.eval_service import EvalService
from ..services.models import ModelService
from ..services.plugins import PluginManager
from ..services.retrieval.service import RetrievalService
from ..services.sessions import Store
from ..services.tuning import TuningService
from ..services.workspace import WorkspaceService


@dataclass
class AppServices:
    models: ModelService
    store: Store
    plugins: PluginManager | None = None
    tuning: TuningService = field(init=False)
    evaluation: EvalService = field(init=False)
    retrieval: RetrievalService = field(init=False)

    def __post_init__(self) -> None:
        # First: the comparison runs (self.runs) retrieve through it, sharing its embedders.
        self.retrieval = RetrievalService(self.store, self.models)
        # One instance: it keeps the trainer processes this app started.
        self.tuning = TuningService(self.store, self.models, plugins=self.plugins)
        # One instance: it keeps the judge models it opened.
        self.evaluation = EvalService(self.store, self.models, self.runs, self.plugins)

    @property
    def workspace(self) -> WorkspaceService:
        return WorkspaceService(self.store)

    @property
    def runs(self) -> RunService:
        return RunService(self.store, self.models, self.plugins, retrieval=self.retrieval)
