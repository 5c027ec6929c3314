"""OpenAI-compatible HTTP client with streaming (server-sent events), on the standard library."""

from __future__ import annotations

import http.client
import json
import os
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence

from workbench.core.errors import IncompleteAnswer, WorkbenchError
from workbench.core.generation import (
    DoneEvent,
    GenerationEvent,
    GenerationRequest,
    GenerationResult,
    GenerationStats,
    ScoreRequest,
    TokenEvent,
)
from workbench.core.messages import ChatMessage
from workbench.core.model_info import ModelMetadata, SpecialTokens
from workbench.core.tokens import AnswerLikelihood


class RemoteError(WorkbenchError):
    pass


class OpenAIModel:
    """The TextModel protocol over HTTP."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.metadata: ModelMetadata | None = None

    @classmethod
    def from_reference(cls, reference: str) -> OpenAIModel:
        parts = urllib.parse.urlsplit(reference)
        query = dict(urllib.parse.parse_qsl(parts.query))
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        key = os.environ.get(query.get("key_env", "OPENAI_API_KEY"))
        model = cls(base, query.get("model"), key)
        model.start()
        return model

    # -- HTTP ----------------------------------------------------------------------------

    def _request(self, path: str, body: dict | None = None):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, headers=headers,
                                         method="POST" if body is not None else "GET")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise RemoteError(f"{self.base_url}{path} answered HTTP {error.code}: "
                              f"{_message(detail)}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RemoteError(f"Cannot reach {self.base_url}: {reason}.") from None

    def list_models(self) -> list[str]:
        with self._request("/models") as response:
            return [m["id"] for m in json.load(response).get("data", [])]

    # -- TextModel -----------------------------------------------------------------------

    def start(self) -> ModelMetadata:
        names = self.list_models()
        if not names:
            raise RemoteError(f"{self.base_url} serves no models.")
        if self.model is None:
            # Only when there is no choice to make: llama-server names its one model by its
            # file path, which nobody should have to copy into ?model=.
            if len(names) > 1:
                raise RemoteError(f"{self.base_url} serves {len(names)} models; name one with "
                                  f"?model=NAME (it serves: {', '.join(names)}).")
            self.model = names[0]
        elif self.model not in names:
            raise RemoteError(f"{self.base_url} has no model '{self.model}' "
                              f"(it serves: {', '.join(names)}).")
        self.metadata = ModelMetadata(
            path=f"openai+{self.base_url}?{urllib.parse.urlencode({'model': self.model})}",
            name=self.model,
            architecture="remote", parameter_count=0, quantization="", file_size=0,
            context_length=0, n_ctx=0, n_layers=0, vocab_size=0, chat_template=None,
            special_tokens=SpecialTokens(None, None, "", ""), offload_supported=False,
            gpu_layers_requested=0, gpu_layers_offloaded=0, extra={"base_url": self.base_url})
        return self.metadata

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True):
        raise RemoteError(f"{self.base_url} does not offer tokenization through the OpenAI API.")

    def detokenize(self, ids: Sequence[int]) -> str:
        raise RemoteError(f"{self.base_url} does not offer tokenization through the OpenAI API.")

    def render(self, messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True):
        raise RemoteError(f"{self.base_url} applies its chat template on the server side.")

    def pieces(self, ids: Sequence[int]) -> list[bytes]:
        raise RemoteError(f"{self.base_url} does not offer token pieces through the OpenAI API; "
                          "the token view needs a local model.")

    def score(self, request: ScoreRequest) -> AnswerLikelihood:
        raise RemoteError(f"{self.base_url} cannot score an answer through the OpenAI API "
                          "(it has no log-probabilities of given text); score with a local model.")

    def generate(self, request: GenerationRequest) -> RemoteStream:
        sampling = request.sampling
        body = {"model": self.model, "stream": True, "max_tokens": sampling.max_tokens,
                "temperature": max(0.0, sampling.temperature), "top_p": sampling.top_p,
                # llama.cpp's and vLLM's servers read these too; others ignore them.
                "top_k": 1 if sampling.greedy else sampling.top_k, "min_p": sampling.min_p,
                "repeat_penalty": sampling.repeat_penalty}
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.grammar:
            body["grammar"] = sampling.grammar  # GBNF: llama-server and llama_cpp.server read it
        if request.messages:
            body["messages"] = [m.to_dict() for m in request.messages]
            path = "/chat/completions"
        else:
            body["prompt"] = request.prompt
            path = "/completions"
        return RemoteStream(self, path, body)

    def generate_many(self, requests: Sequence[GenerationRequest]) -> list[RemoteStream]:
        return [self.generate(r) for r in requests]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Each text's embedding from the server's ``/embeddings`` (the ``similar``
        assertion), in the order given."""
        with self._request("/embeddings", {"model": self.model, "input": list(texts)}) as reply:
            try:
                data = sorted(json.load(reply)["data"], key=lambda item: item.get("index", 0))
                vectors = [[float(x) for x in item["embedding"]] for item in data]
            except (ValueError, KeyError, TypeError) as error:
                raise RemoteError(f"{self.base_url}/embeddings answered without embeddings "
                                  f"({type(error).__name__}: {error}).") from None
        if len(vectors) != len(texts):
            raise RemoteError(f"{self.base_url}/embeddings gave {len(vectors)} embeddings for "
                              f"{len(texts)} texts.")
        return vectors

    def close(self) -> None:
        pass


class RemoteStream:
    """Streams one completion; started lazily on first iteration so queued ones wait their turn."""

    def __init__(self, model: OpenAIModel, path: str, body: dict):
        self.model, self.path, self.body = model, path, body
        self.pieces: list[str] = []
        self.token_ids: list[int] = []
        self.done: DoneEvent | None = None
        self.seed = body.get("seed")
        self._cancel = threading.Event()
        self._response = None
        self._events: Iterator[GenerationEvent] | None = None

    @property
    def text(self) -> str:
        return self.done.text if self.done else "".join(self.pieces)

    def cancel(self) -> None:
        self._cancel.set()
        response = self._response
        if response is not None:
            try:
                response.close()  # unblocks the reader
            except OSError:
                pass

    def __iter__(self) -> Iterator[GenerationEvent]:
        if self._events is None:
            self._events = self._read()
        return self._events

    def _read(self) -> Iterator[GenerationEvent]:
        start = time.perf_counter()
        first = last = None
        finish = None  # the server's finish_reason; None until it says the answer is over
        ended = False  # the server's "data: [DONE]" arrived
        lines: queue.Queue = queue.Queue()
        if not self._cancel.is_set():
            self._response = self.model._request(self.path, self.body)
            threading.Thread(target=self._pump, args=(self._response, lines), daemon=True).start()
        while not self._cancel.is_set():
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None or line is _DONE:
                ended = line is _DONE
                break
            if isinstance(line, Exception):
                raise IncompleteAnswer(
                    f"The stream from {self.model.base_url} broke after "
                    f"{len(self.pieces)} chunk(s): {_transport_reason(line)}",
                    "".join(self.pieces))
            choice = self._choice(line)
            piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
            if choice.get("finish_reason"):
                finish = "length" if choice["finish_reason"] == "length" else "stop"
            if piece:
                last = time.perf_counter()
                first = first or last
                self.pieces.append(piece)
                yield TokenEvent(piece, -1)
        if self._cancel.is_set():
            finish = "cancelled"
        elif finish is None and not ended:
            # The connection closed before the server said the answer was over: whatever
            # arrived is a fragment, not an answer (an empty one would pass "does not contain").
            raise IncompleteAnswer(
                f"The stream from {self.model.base_url} ended after {len(self.pieces)} "
                "chunk(s) without its end (no finish_reason and no [DONE]): the server "
                "stopped or the connection was cut.", "".join(self.pieces))
        count = len(self.pieces)
        end = time.perf_counter()
        span = (last - first) if (first and last and count > 1) else 0.0
        self.done = DoneEvent("".join(self.pieces), GenerationStats(
            prompt_tokens=0, completion_tokens=count, cached_prompt_tokens=0,
            time_to_first_token_s=(first - start) if first else end - start,
            tokens_per_second=(count - 1) / span if span else 0.0, total_s=end - start,
            finish_reason=finish or "stop"))
        yield self.done

    def _choice(self, line: str) -> dict:
        """The first choice of one SSE chunk; a chunk that is not JSON, or an error object in
        place of a chunk (vLLM and llama-server report a failure mid-stream that way), ends
        the answer as incomplete."""
        try:
            chunk = json.loads(line)
        except ValueError:
            raise IncompleteAnswer(
                f"The stream from {self.model.base_url} sent a chunk that is not JSON: "
                f"{line[:120]!r}", "".join(self.pieces)) from None
        if not isinstance(chunk, dict):
            chunk = {}
        if chunk.get("error"):
            raise IncompleteAnswer(
                f"{self.model.base_url} reported an error mid-answer: "
                f"{_message(json.dumps(chunk))}", "".join(self.pieces))
        choice = (chunk.get("choices") or [{}])[0]
        return choice if isinstance(choice, dict) else {}

    def _pump(self, response, lines: queue.Queue) -> None:
        end = None
        try:
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    end = _DONE
                    break
                lines.put(data)
        except Exception as error:  # noqa: BLE001 - closed by cancel, or the network
            if not self._cancel.is_set():
                lines.put(error)
        finally:
            lines.put(end)

    def result(self) -> GenerationResult:
        for _ in self:
            pass
        return GenerationResult(self.done.text, (), self.done.stats)


_DONE = object()  # the pump saw "data: [DONE]"


def _transport_reason(error: Exception) -> str:
    """http.client's IncompleteRead prints the bytes it got; name what happened instead."""
    if isinstance(error, http.client.IncompleteRead):
        return "the connection closed in the middle of a chunk (IncompleteRead)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _message(detail: str) -> str:
    try:
        body = json.loads(detail)
        error = body.get("error", body)
        return error.get("message", detail) if isinstance(error, dict) else str(error)
    except ValueError:
        return detail.strip() or "no details"
