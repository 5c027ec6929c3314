"""Is an ``openai+…`` (or ``ollama+…``) reference usable? Asked once with a short timeout by a
suite's preflight (``Backend.check``), so a server that is down is named before anything is
generated instead of failing every cell it was given."""

from __future__ import annotations

import urllib.error

from .client import OpenAIModel, RemoteError
from .ollama import OllamaModel


def reference_problem(reference: str, timeout_s: float = 3.0,
                      kind: type[OpenAIModel] = OpenAIModel) -> str | None:
    """One sentence on what stops ``reference`` (``http://host/v1?model=NAME``, the text after
    ``openai+``) from being used, or None when its server lists its models within
    ``timeout_s`` (``GET /models``; Ollama: ``GET /api/tags``) and serves the model."""
    try:
        model = kind.unstarted(reference, timeout_s)
    except RemoteError as error:
        return str(error).rstrip(".")
    try:
        model.start()  # lists the models and checks that the named (or only) one is served
    except RemoteError as error:
        cause = error.__cause__ or error.__context__
        return _unreachable(model.base_url, cause, timeout_s) or str(error).rstrip(".")
    except OSError as error:  # the answer timed out or broke while it was read
        return _unreachable(model.base_url, error, timeout_s) or (
            f"{model.base_url}{kind.MODELS_PATH} did not answer: {error}")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        server = "an Ollama" if kind is OllamaModel else "an OpenAI-compatible"
        return (f"{model.base_url}{kind.MODELS_PATH} did not answer as {server} server does "
                f"({type(error).__name__}: {error})")
    return None


def ollama_problem(reference: str, timeout_s: float = 3.0) -> str | None:
    """``reference_problem`` for an ``ollama+…`` reference."""
    return reference_problem(reference, timeout_s, OllamaModel)


def _unreachable(base: str, cause: BaseException | None, timeout_s: float) -> str | None:
    """The sentence for a server that is not there, or None when ``cause`` is something else."""
    if isinstance(cause, urllib.error.HTTPError):
        return None  # it answered: its own message says more
    reason = getattr(cause, "reason", cause)
    if isinstance(reason, ConnectionRefusedError):
        return f"nothing answers at {base} (connection refused)"
    if isinstance(reason, TimeoutError):
        return f"nothing answered at {base} within {timeout_s:g} s"
    if isinstance(cause, (urllib.error.URLError, OSError)):
        return f"cannot reach {base}: {reason}"
    return None
