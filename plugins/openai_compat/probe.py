"""Is an ``openai+…`` reference usable? Asked once with a short timeout by a suite's preflight
(``Backend.check``), so a server that is down is named before anything is generated instead of
failing every cell it was given."""

from __future__ import annotations

import os
import urllib.error
import urllib.parse

from .client import OpenAIModel, RemoteError


def reference_problem(reference: str, timeout_s: float = 3.0) -> str | None:
    """One sentence on what stops ``reference`` (``http://host/v1?model=NAME``, the text after
    ``openai+``) from being used, or None when its server answers ``GET /models`` within
    ``timeout_s`` and serves the model."""
    parts = urllib.parse.urlsplit(reference)
    query = dict(urllib.parse.parse_qsl(parts.query))
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"'{reference}' is not an http:// or https:// address"
    model = OpenAIModel(base, query.get("model"), os.environ.get(query.get("key_env",
                                                                           "OPENAI_API_KEY")),
                        timeout_s=timeout_s)
    try:
        model.start()  # lists /models and checks that the named (or only) model is served
    except RemoteError as error:
        cause = error.__cause__ or error.__context__
        return _unreachable(model.base_url, cause, timeout_s) or str(error).rstrip(".")
    except OSError as error:  # the answer timed out or broke while it was read
        return _unreachable(model.base_url, error, timeout_s) or (
            f"{model.base_url}/models did not answer: {error}")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return (f"{model.base_url}/models did not answer as an OpenAI-compatible server does "
                f"({type(error).__name__}: {error})")
    return None


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
