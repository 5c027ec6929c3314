"""Built-in features, registered through the same hooks third-party plugins use."""

from . import llamacpp_backend, result_files, tabular_io, text_scorers

BUILTIN_PLUGINS = {
    "llama.cpp": llamacpp_backend,
    "text scorers": text_scorers,
    "tables": tabular_io,
    "result files": result_files,
}
