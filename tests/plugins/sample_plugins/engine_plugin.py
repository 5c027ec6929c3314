"""A plugin that puts its own engine under local model files: here the built-in llama.cpp
host, counted, to show the hook is the path every local model takes."""

from workbench.plugins import hookimpl
from workbench.plugins.builtin.llamacpp_backend import LOCAL_SCHEME, host_for, open_gguf
from workbench.plugins.contributions import Backend

__version__ = "1.0"
LOADED: list[str] = []


def counted(settings, logs_dir):
    LOADED.append(settings.path)
    return host_for(settings, logs_dir)


@hookimpl
def register_backends(register):
    register(Backend(LOCAL_SCHEME, open_gguf, load=counted))
