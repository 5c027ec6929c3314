"""The llama.cpp backend: a GGUF file in a model host child process."""

from __future__ import annotations

from ...core.model_info import LoadSettings
from ...core.paths import app_paths
from ...engine.host.client import ModelHost
from ..contributions import Backend
from ..hookspecs import hookimpl

__version__ = "1.0"


def open_gguf(reference: str) -> ModelHost:
    """``llamacpp+/path/to/model.gguf`` — the same host the rest of the app uses."""
    host = ModelHost(LoadSettings(reference), logs_dir=app_paths().logs)
    host.start()
    return host


@hookimpl
def register_backends(register):
    register(Backend("llamacpp", open_gguf))
