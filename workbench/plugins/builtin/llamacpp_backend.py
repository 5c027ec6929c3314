"""The llama.cpp backend: a GGUF file in a model host child process."""

from __future__ import annotations

from ...core.model_info import LoadSettings
from ...core.paths import app_paths
from ...engine.host.client import ModelHost
from ..contributions import Backend
from ..hookspecs import hookimpl

__version__ = "1.0"
LOCAL_SCHEME = "llamacpp"  # the engine of every local model file


def open_gguf(reference: str) -> ModelHost:
    """``llamacpp+/path/to/model.gguf`` — the same host the rest of the app uses."""
    host = ModelHost(LoadSettings(reference), logs_dir=app_paths().logs)
    host.start()
    return host


def host_for(settings: LoadSettings, logs_dir) -> ModelHost:
    """The local engine: a model host (a child process) for these load settings, unstarted."""
    return ModelHost(settings, logs_dir=logs_dir)


@hookimpl
def register_backends(register):
    register(Backend(LOCAL_SCHEME, open_gguf, load=host_for))
