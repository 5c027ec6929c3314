"""Backends for servers other programs run: any OpenAI-compatible server (llama.cpp's server,
vLLM, LM Studio, Ollama's /v1, hosted APIs) and Ollama's own API.

Model references: ``openai+http://127.0.0.1:8080/v1?model=NAME`` (``model`` may be left out
when the server serves one model, as llama-server does; with several, the error lists them)
and ``ollama+http://localhost:11434?model=NAME``. ``api=chat|completion`` (Ollama:
``chat|generate``) picks the endpoint; the API key is ``key=KEY``, else the variable
``key_env=VAR`` names, else ``OPENAI_API_KEY`` (``OLLAMA_API_KEY``); see reference.py.
A request carries the settings the variant gives and its request keys as written.
This is how a team outgrows one machine: point variants at their serving cluster.
"""

from __future__ import annotations

from workbench.plugins import hookimpl
from workbench.plugins.contributions import Backend

from .client import OpenAIModel
from .ollama import OllamaModel
from .probe import ollama_problem, reference_problem

__version__ = "1.1"


@hookimpl
def register_backends(register):
    register(Backend("openai", OpenAIModel.from_reference, check=reference_problem))
    register(Backend("ollama", OllamaModel.from_reference, check=ollama_problem))
