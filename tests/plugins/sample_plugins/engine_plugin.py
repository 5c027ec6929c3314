"""A plugin that puts its own engine under local model files: here the built-in llama.cpp
host, counted, to show the hook is the path every local model takes. Each load is also
written to ``engine_plugin.loads`` in the logs folder, for a load made in another process
(the command line)."""

from pathlib import Path

from workbench.plugins import hookimpl
from workbench.plugins.builtin.llamacpp_backend import LOCAL_SCHEME, host_for, open_gguf
from workbench.plugins.contributions import Backend

__version__ = "1.0"
LOADED: list[str] = []
RECORD = "engine_plugin.loads"


def counted(settings, logs_dir):
    LOADED.append(settings.path)
    Path(logs_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(logs_dir) / RECORD, "a") as record:
        record.write(settings.path + "\n")
    return host_for(settings, logs_dir)


@hookimpl
def register_backends(register):
    register(Backend(LOCAL_SCHEME, open_gguf, load=counted))
