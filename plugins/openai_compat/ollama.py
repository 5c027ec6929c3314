"""Ollama's own API (``/api/chat``, ``/api/generate``), streamed as newline-delimited JSON.

promptfoo's ``ollama:chat:`` and ``ollama:completion:`` providers speak this protocol, not
Ollama's OpenAI-compatible ``/v1``: there, an unset temperature or top_p becomes 1.0 (not the
model's own default) and ``top_k``, ``repeat_penalty``, ``num_ctx`` and the other options
cannot be sent. So a suite's Ollama provider comes here, to answer as it does in promptfoo.

Model reference: ``ollama+http://localhost:11434?model=llama3.2`` (``api=chat`` or
``api=generate``; the key, when a proxy wants one, from ``OLLAMA_API_KEY``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from workbench.core.generation import GenerationRequest
from workbench.core.sampling import SamplingSettings

from .client import WIRE_SETTINGS, OpenAIModel, RemoteError, RemoteStream, prompt_text


class OllamaModel(OpenAIModel):
    SCHEME = "ollama"
    APIS = ("chat", "generate")
    KEY_ENV = "OLLAMA_API_KEY"
    MODELS_PATH = "/api/tags"

    def list_models(self) -> list[str]:
        with self._request(self.MODELS_PATH) as response:
            return [m.get("name") or m.get("model")
                    for m in json.load(response).get("models", [])]

    def _served(self, names: list[str]) -> str | None:
        """Ollama names a model ``llama3.2:latest`` and answers to ``llama3.2``."""
        return next((name for name in (self.model, f"{self.model}:latest") if name in names),
                    None)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Each text's embedding from Ollama's ``/api/embed``, in the order given (too long a
        text is an error, not cut: ``truncate`` false, as promptfoo asks)."""
        body = {"model": self.model, "input": list(texts), "truncate": False}
        with self._request("/api/embed", body) as reply:
            try:
                vectors = [[float(x) for x in v] for v in json.load(reply)["embeddings"]]
            except (ValueError, KeyError, TypeError) as error:
                raise RemoteError(f"{self.base_url}/api/embed answered without embeddings "
                                  f"({type(error).__name__}: {error}).") from None
        if len(vectors) != len(texts):
            raise RemoteError(f"{self.base_url}/api/embed gave {len(vectors)} embeddings for "
                              f"{len(texts)} texts.")
        return vectors

    def generate(self, request: GenerationRequest) -> OllamaStream:
        sampling = request.sampling
        if sampling.grammar:
            raise RemoteError(f"{self.base_url} is an Ollama server, which takes no GBNF "
                              "grammar; this needs a llama.cpp model or server.")
        extra = sampling.extra_body
        # promptfoo's passthrough.options is merged into the options, not put in their place
        options = {**ollama_options(sampling), **(extra.pop("options", None) or {})}
        body: dict = {"model": self.model}
        if self.api == "chat" or (self.api is None and request.messages):
            body["messages"] = [m.to_dict() for m in request.messages] or \
                [{"role": "user", "content": request.prompt}]
            path = "/api/chat"
        else:
            body["prompt"] = prompt_text(request, self.base_url)
            path = "/api/generate"
        body["options"] = options
        body.update(extra)
        body["stream"] = True  # the reader below takes one JSON record per line
        return OllamaStream(self, path, body, seed=options.get("seed"))


def ollama_options(sampling: SamplingSettings) -> dict:
    """The settings the variant gives as Ollama's ``options`` (max_tokens is ``num_predict``
    there); with ``sent`` None, every one."""
    names = WIRE_SETTINGS if sampling.sent is None else sampling.sent
    options = {}
    for name in names:
        value = getattr(sampling, name, None) if name in WIRE_SETTINGS else None
        if name == "stop":
            value = list(value or ()) if (value or sampling.sent is not None) else None
        if value is not None:
            options["num_predict" if name == "max_tokens" else name] = value
    return options


class OllamaStream(RemoteStream):
    END = "no record with done: true"

    @staticmethod
    def _data(line: str):
        return line or None

    def _event(self, line: str) -> tuple[str, str | None]:
        record = self._chunk(line)
        message = record.get("message")
        piece = (message.get("content") if isinstance(message, dict) else None) \
            or record.get("response") or ""
        if not record.get("done"):
            return piece, None
        return piece, "length" if record.get("done_reason") == "length" else "stop"
