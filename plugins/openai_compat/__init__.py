"""A backend for any OpenAI-compatible server: llama.cpp's server, vLLM, Ollama, hosted APIs.

Model reference: ``openai+http://127.0.0.1:8080/v1?model=NAME`` (``model`` may be left out when
the server serves one model, as llama-server does; with several, the error lists them). The
API key comes from ``OPENAI_API_KEY`` or ``?key_env=VAR``.
This is how a team outgrows one machine: point variants at their serving cluster.
"""

from __future__ import annotations

from workbench.plugins import hookimpl
from workbench.plugins.contributions import Backend

from .client import OpenAIModel
from .probe import reference_problem

__version__ = "1.0"


@hookimpl
def register_backends(register):
    register(Backend("openai", OpenAIModel.from_reference, check=reference_problem))
