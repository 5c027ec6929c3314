"""Generation requests and the events a generation streams back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .messages import ChatMessage
from .model_info import AdapterSpec
from .sampling import SamplingSettings
from .tokens import Alternative

FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True)
class GenerationRequest:
    """Either ``messages`` (rendered with the model's chat template) or a raw ``prompt``.

    ``adapters``: LoRA adapters (with scales) for this request only; ``None`` keeps those the
    model was loaded with, ``()`` runs the base model. Switching adapters needs no reload.
    """

    messages: tuple[ChatMessage, ...] = ()
    prompt: str | None = None
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    adapters: tuple[AdapterSpec, ...] | None = None
    # A branch: these tokens come first, as if the model had chosen them (streamed as forced
    # tokens, with their log-probabilities), then generation goes on from there.
    forced_tokens: tuple[int, ...] = ()

    def __post_init__(self):
        if not self.messages and self.prompt is None:
            raise ValueError("A generation request needs messages or a prompt.")

    def to_wire(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "prompt": self.prompt,
            "sampling": self.sampling.to_dict(),
            "adapters": None if self.adapters is None else [
                {"path": a.path, "scale": a.scale} for a in self.adapters],
            "forced_tokens": list(self.forced_tokens),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> GenerationRequest:
        return cls(
            messages=tuple(ChatMessage.from_dict(m) for m in data.get("messages") or ()),
            prompt=data.get("prompt"),
            sampling=SamplingSettings.from_dict(data.get("sampling") or {}),
            adapters=None if data.get("adapters") is None else tuple(
                AdapterSpec(**a) for a in data["adapters"]),
            forced_tokens=tuple(data.get("forced_tokens") or ()),
        )


@dataclass(frozen=True)
class ScoreRequest:
    """Score ``answer`` after the prompt (``messages`` rendered with the chat template and its
    generation prompt, or a raw ``prompt``): each answer token's log-probability and the
    ``top_k`` alternatives at its position. Nothing is generated."""

    answer: str
    messages: tuple[ChatMessage, ...] = ()
    prompt: str | None = None
    top_k: int = 0
    adapters: tuple[AdapterSpec, ...] | None = None

    def __post_init__(self):
        if not self.messages and self.prompt is None:
            raise ValueError("A score request needs messages or a prompt.")


@dataclass(frozen=True)
class TokenEvent:
    """One generated token: its id and the text it completes (may be empty mid-UTF-8)."""

    text: str
    token_id: int
    logprob: float | None = None
    top_logprobs: dict[str, float] | None = None
    piece: bytes | None = None  # the token's exact bytes (text may be empty mid-character)
    alternatives: tuple[Alternative, ...] = ()  # the top-k with ids and bytes, best first
    forced: bool = False  # a branch's forced token


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    time_to_first_token_s: float
    tokens_per_second: float
    total_s: float
    finish_reason: FinishReason

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DoneEvent:
    text: str
    stats: GenerationStats


GenerationEvent = TokenEvent | DoneEvent


@dataclass(frozen=True)
class GenerationResult:
    text: str
    token_ids: tuple[int, ...]
    stats: GenerationStats
