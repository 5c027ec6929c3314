"""A backend reference, the text after ``openai+`` or ``ollama+`` in a model name, read once
for the client and the preflight's probe alike:

``http://127.0.0.1:8080/v1?model=NAME&api=chat&key_env=VAR&key=KEY``

- ``model``: the served model (left out: the server's only one);
- ``api``: ``chat`` or ``completion`` (Ollama: ``chat`` or ``generate``); left out, a chat
  prompt goes to the chat endpoint and a raw one to the completion endpoint;
- ``key``: the API key itself; ``key_env``: the environment variable that holds it (default
  ``OPENAI_API_KEY``, for Ollama ``OLLAMA_API_KEY``). ``key`` wins, as promptfoo's ``apiKey``
  wins over its ``apiKeyEnvar``; a ``key_env`` that is not set means no key.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

QUERY_KEYS = ("model", "api", "key", "key_env")


@dataclass(frozen=True)
class Reference:
    base: str  # the server's root for the API: http://host:port/v1 (Ollama: http://host:port)
    model: str | None = None
    api: str | None = None
    api_key: str | None = None

    @classmethod
    def parse(cls, text: str, default_key_env: str = "OPENAI_API_KEY") -> Reference:
        parts = urllib.parse.urlsplit(text)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        key = query.get("key")
        if key is None:
            key = os.environ.get(query.get("key_env") or default_key_env)
        return cls(base.rstrip("/"), query.get("model") or None, query.get("api") or None,
                   key or None)

    def problem(self, apis: tuple[str, ...]) -> str | None:
        """What is wrong with the reference as written, or None."""
        parts = urllib.parse.urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return f"'{self.base}' is not an http:// or https:// address"
        if self.api is not None and self.api not in apis:
            return f"api={self.api} is not one of {', '.join(apis)}"
        return None

