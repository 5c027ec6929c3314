"""The one protocol every model runtime offers (llama.cpp host, and plugin backends later)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from ..core.generation import GenerationEvent, GenerationRequest, GenerationResult
from ..core.messages import ChatMessage
from ..core.model_info import ModelMetadata


@runtime_checkable
class Generation(Protocol):
    """A generation in progress: iterate for events; ``cancel()`` ends it within a second."""

    text: str

    def __iter__(self) -> Iterator[GenerationEvent]: ...
    def cancel(self) -> None: ...
    def result(self) -> GenerationResult: ...


@runtime_checkable
class TextModel(Protocol):
    metadata: ModelMetadata | None

    def start(self) -> ModelMetadata: ...
    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]: ...
    def detokenize(self, ids: Sequence[int]) -> str: ...
    def render(self, messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True) -> str: ...
    def generate(self, request: GenerationRequest) -> Generation: ...
    def generate_many(self, requests: Sequence[GenerationRequest]) -> list[Generation]: ...
    def close(self) -> None: ...
