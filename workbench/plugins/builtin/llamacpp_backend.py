"""The llama.cpp backend: a GGUF file in a model host child process."""

from __future__ import annotations

from ...core.model_info import LoadSettings
from ...core.paths import app_paths
from ...engine.host.client import ModelHost
from ...engine.host.spawn import prespawn
from ..contributions import LOCAL_SCHEME, Backend
from ..hookspecs import hookimpl

__version__ = "1.0"
__all__ = ["LOCAL_SCHEME", "host_for", "open_gguf", "register_backends"]


def open_gguf(reference: str) -> ModelHost:
    """``llamacpp+/path/to/model.gguf`` — the same host the rest of the app uses."""
    host = ModelHost(LoadSettings(reference), logs_dir=app_paths().logs)
    host.start()
    return host


def host_for(settings: LoadSettings, logs_dir) -> ModelHost:
    """The local engine: a model host (a child process) for these load settings, unstarted;
    its ``start(job=…)`` reports llama.cpp's load progress and stops at the job's cancel."""
    return ModelHost(settings, logs_dir=logs_dir)


@hookimpl
def register_backends(register):
    # prepare: a host process boots (Python, llama.cpp's import) while the command goes on;
    # the first ModelHost with the same logs folder adopts it.
    register(Backend(LOCAL_SCHEME, open_gguf, load=host_for, prepare=prespawn))
