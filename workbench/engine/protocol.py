"""The one protocol every model runtime offers (llama.cpp host, and plugin backends later)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from ..core.generation import GenerationEvent, GenerationRequest, GenerationResult, ScoreRequest
from ..core.messages import ChatMessage
from ..core.model_info import ModelMetadata
from ..core.tokens import AnswerLikelihood


@runtime_checkable
class Generation(Protocol):
    """A generation in progress: iterate for events; ``cancel()`` ends it within a second."""

    text: str

    def __iter__(self) -> Iterator[GenerationEvent]: ...
    def cancel(self) -> None: ...
    def result(self) -> GenerationResult: ...


@runtime_checkable
class TextModel(Protocol):
    """A model the app can run.

    ``generate``: each TokenEvent carries the token's exact bytes (``piece``; joining them
    gives the output's bytes) and, with ``sampling.logprobs = k > 0``, its log-probability and
    the k most likely tokens at its position (``alternatives``, k ≤ 20) — log_softmax of the
    logits the token was chosen from, before penalties and truncation.
    ``request.forced_tokens`` (a branch) are fed first as if chosen, streamed with
    ``forced=True``, then sampling goes on.

    ``pieces(ids)``: each token's exact bytes, special tokens spelled out (``<|im_end|>``).

    ``score(request)``: the answer's tokens scored under the prompt (teacher forcing), each
    with its log-probability and the request's top-k; it never disturbs generations (its own
    sequence) and gives identical numbers each time.

    A backend that cannot offer ``tokenize``, ``pieces``, ``render`` or ``score`` (a remote
    server) raises a WorkbenchError that says so in one sentence.
    """

    metadata: ModelMetadata | None

    def start(self) -> ModelMetadata: ...
    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]: ...
    def detokenize(self, ids: Sequence[int]) -> str: ...
    def pieces(self, ids: Sequence[int]) -> list[bytes]: ...
    def render(self, messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True) -> str: ...
    def generate(self, request: GenerationRequest) -> Generation: ...
    def generate_many(self, requests: Sequence[GenerationRequest]) -> list[Generation]: ...
    def score(self, request: ScoreRequest) -> AnswerLikelihood: ...
    def close(self) -> None: ...
