"""OpenAI-compatible HTTP client with streaming (server-sent events), on the standard library."""

from __future__ import annotations

import http.client
import json
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
from workbench.core.sampling import SamplingSettings
from workbench.core.tokens import AnswerLikelihood

from .reference import Reference

# SamplingSettings' names a server is sent under the same name (llama.cpp's and vLLM's servers
# read top_k, min_p, repeat_penalty and repeat_last_n too; others ignore them).
WIRE_SETTINGS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "repeat_last_n",
                 "frequency_penalty", "presence_penalty", "max_tokens", "stop", "seed")


class RemoteError(WorkbenchError):
    pass


class OpenAIModel:
    """The TextModel protocol over HTTP."""

    SCHEME = "openai"
    APIS = ("chat", "completion")  # ?api=: which endpoint every request goes to
    KEY_ENV = "OPENAI_API_KEY"  # where the key is found when the reference does not say
    MODELS_PATH = "/models"  # lists the served models

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 60.0, api: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.api = api  # None: chat for a chat prompt, completion for a raw one
        self.metadata: ModelMetadata | None = None

    @classmethod
    def unstarted(cls, reference: str, timeout_s: float = 60.0) -> OpenAIModel:
        """The model a reference (the text after ``openai+``) names, not yet asked anything;
        RemoteError when the reference cannot be used as written."""
        found = Reference.parse(reference, cls.KEY_ENV)
        problem = found.problem(cls.APIS)
        if problem:
            raise RemoteError(f"{problem}.")
        return cls(found.base, found.model, found.api_key, timeout_s, found.api)

    @classmethod
    def from_reference(cls, reference: str) -> OpenAIModel:
        model = cls.unstarted(reference)
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
        with self._request(self.MODELS_PATH) as response:
            return [m["id"] for m in json.load(response).get("data", [])]

    def _served(self, names: list[str]) -> str | None:
        """The name the server knows the asked-for model by, or None."""
        return self.model if self.model in names else None

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
        elif self._served(names) is None:
            raise RemoteError(f"{self.base_url} has no model '{self.model}' "
                              f"(it serves: {', '.join(names)}).")
        self.metadata = ModelMetadata(
            path=f"{self.SCHEME}+{self.base_url}?"
                 f"{urllib.parse.urlencode({'model': self.model})}",
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
        """One streamed request: the model, the prompt, the settings the variant gives
        (``sampling.sent``) and its request keys as written (``sampling.extra``)."""
        sampling = request.sampling
        body = {"model": self.model, **sampling_fields(sampling)}
        if self.api == "chat" or (self.api is None and request.messages):
            body["messages"] = [m.to_dict() for m in request.messages] or \
                [{"role": "user", "content": request.prompt}]
            path = "/chat/completions"
        else:
            body["prompt"] = prompt_text(request, self.base_url)
            path = "/completions"
        body.update(sampling.extra_body)
        body["stream"] = True  # the reader below takes server-sent events
        return RemoteStream(self, path, body)

    def generate_many(self, requests: Sequence[GenerationRequest]) -> list[RemoteStream]:
        return [self.generate(r) for r in requests]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Each text's embedding from the server's ``/embeddings`` (the ``similar``
        assertion), in the order given. A server that answers one vector per token (llama-cpp-
        python's, for a model without pooling) gets them averaged: mean pooling."""
        with self._request("/embeddings", {"model": self.model, "input": list(texts)}) as reply:
            try:
                data = sorted(json.load(reply)["data"], key=lambda item: item.get("index", 0))
                vectors = [_pooled(item["embedding"]) for item in data]
            except (ValueError, KeyError, TypeError, ZeroDivisionError) as error:
                raise RemoteError(f"{self.base_url}/embeddings answered without embeddings "
                                  f"({type(error).__name__}: {error}).") from None
        if len(vectors) != len(texts):
            raise RemoteError(f"{self.base_url}/embeddings gave {len(vectors)} embeddings for "
                              f"{len(texts)} texts.")
        return vectors

    def close(self) -> None:
        pass


def sampling_fields(sampling: SamplingSettings) -> dict:
    """The settings a server is sent: those the variant gives, as given; with ``sent`` None
    (a run stored before it was kept, ``workbench generate``), every one as it always was."""
    if sampling.sent is None:
        fields = {"max_tokens": sampling.max_tokens,
                  "temperature": max(0.0, sampling.temperature), "top_p": sampling.top_p,
                  "top_k": 1 if sampling.greedy else sampling.top_k, "min_p": sampling.min_p,
                  "repeat_penalty": sampling.repeat_penalty}
        if sampling.stop:
            fields["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            fields["seed"] = sampling.seed
    else:
        fields = {}
        for name in sampling.sent:
            value = getattr(sampling, name, None) if name in WIRE_SETTINGS else None
            if value is not None:
                fields[name] = list(value) if name == "stop" else value
    if sampling.grammar:
        fields["grammar"] = sampling.grammar  # GBNF: llama-server and llama_cpp.server read it
    return fields


def prompt_text(request: GenerationRequest, base_url: str) -> str:
    """The one text a completion endpoint takes: a raw prompt, or a chat of one user
    message."""
    if request.prompt is not None:
        return request.prompt
    messages = list(request.messages)
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    raise RemoteError(f"{base_url} is asked through its completion API, which takes one "
                      "text, and this prompt is a chat (a system message or examples): use "
                      "the chat API (openai:chat:MODEL, or ?api=chat).")


class RemoteStream:
    """Streams one completion; started lazily on first iteration so queued ones wait their turn."""

    END = "no finish_reason and no [DONE]"  # how a complete answer ends, said when it did not

    def __init__(self, model: OpenAIModel, path: str, body: dict, seed: int | None = None):
        self.model, self.path, self.body = model, path, body
        self.pieces: list[str] = []
        self.token_ids: list[int] = []
        self.done: DoneEvent | None = None
        self.seed = seed if seed is not None else body.get("seed")
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
            piece, said = self._event(line)
            finish = said or finish
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
                f"chunk(s) without its end ({self.END}): the server stopped or the "
                "connection was cut.", "".join(self.pieces))
        count = len(self.pieces)
        end = time.perf_counter()
        span = (last - first) if (first and last and count > 1) else 0.0
        self.done = DoneEvent("".join(self.pieces), GenerationStats(
            prompt_tokens=0, completion_tokens=count, cached_prompt_tokens=0,
            time_to_first_token_s=(first - start) if first else end - start,
            tokens_per_second=(count - 1) / span if span else 0.0, total_s=end - start,
            finish_reason=finish or "stop"))
        yield self.done

    def _event(self, line: str) -> tuple[str, str | None]:
        """One SSE chunk's text and, when it ends the answer, why ("stop" or "length")."""
        choice = (self._chunk(line).get("choices") or [{}])[0]
        if not isinstance(choice, dict):
            return "", None
        piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
        reason = choice.get("finish_reason")
        return piece, ("length" if reason == "length" else "stop") if reason else None

    def _chunk(self, line: str) -> dict:
        """One chunk as JSON; a chunk that is not JSON, or an error object in place of a
        chunk (vLLM, llama-server and Ollama report a failure mid-stream that way), ends the
        answer as incomplete."""
        try:
            chunk = json.loads(line)
        except ValueError:
            raise IncompleteAnswer(
                f"The stream from {self.model.base_url} sent a chunk that is not JSON: "
                f"{line[:120]!r}", "".join(self.pieces)) from None
        if not isinstance(chunk, dict):
            return {}
        if chunk.get("error"):
            raise IncompleteAnswer(
                f"{self.model.base_url} reported an error mid-answer: "
                f"{_message(json.dumps(chunk))}", "".join(self.pieces))
        return chunk

    @staticmethod
    def _data(line: str):
        """A line's data: the JSON text, ``_DONE`` for the end marker, None for no data."""
        if not line.startswith("data:"):
            return None
        data = line[5:].strip()
        return _DONE if data == "[DONE]" else data

    def _pump(self, response, lines: queue.Queue) -> None:
        end = None
        try:
            for raw in response:
                data = self._data(raw.decode("utf-8", "replace").strip())
                if data is None:
                    continue
                if data is _DONE:
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


def _pooled(embedding: list) -> list[float]:
    """A text's vector, or the mean of its tokens' vectors."""
    if embedding and isinstance(embedding[0], list):
        return [sum(column) / len(embedding) for column in zip(*embedding, strict=True)]
    return [float(x) for x in embedding]


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
