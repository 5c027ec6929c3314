"""Sampling settings: how the next token is chosen.

The defaults are llama.cpp's own (common/common.h), so a fresh variant answers as
``llama-cli``/``llama-server`` would; in particular the repeat penalty is off (1.0), which
makes ``temperature 0`` the model's true greedy answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64  # how many recent tokens the penalties look at
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    max_tokens: int = 256
    stop: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None
    logprobs: int = 0  # how many top alternatives to report per token (0: none)
    grammar: str | None = None  # GBNF the output must follow (llama.cpp's grammar sampler)
    ignore_eos: bool = False  # never end early: always max_tokens (for benchmarks, as llama.cpp)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def with_(self, **changes: Any) -> SamplingSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "stop" in values:
            values["stop"] = tuple(values["stop"] or ())
        return cls(**values)

    def non_defaults(self) -> dict[str, Any]:
        """Settings that differ from llama.cpp's defaults (what a variant's row shows).

        Greedy decoding ignores top-k/p and min-p, so those are not listed for it.
        """
        ignored = {"max_tokens", "stop", "logprobs"}
        if self.greedy:
            ignored |= {"top_k", "top_p", "min_p"}
        default = DEFAULTS.to_dict()
        return {key: value for key, value in self.to_dict().items()
                if key not in ignored and value != default[key]}


DEFAULTS = SamplingSettings()
GREEDY = SamplingSettings(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)


def describe_sampling(settings: SamplingSettings) -> str:
    """One short line, e.g. ``greedy`` or ``temp 0.7 · repeat 1.1 · seed 7``."""
    changed = settings.non_defaults()
    parts = ["greedy"] if settings.greedy else []
    names = {"temperature": "temp", "top_p": "top-p", "top_k": "top-k", "min_p": "min-p",
             "repeat_penalty": "repeat", "repeat_last_n": "last-n",
             "frequency_penalty": "freq", "presence_penalty": "presence", "seed": "seed"}
    for key, value in changed.items():
        if key == "temperature" and settings.greedy:
            continue
        if key == "grammar":
            parts.append("grammar")
        elif key == "ignore_eos":
            parts.append("ignore EOS")
        elif key in names:
            parts.append(f"{names[key]} {value:g}" if isinstance(value, float) else
                         f"{names[key]} {value}")
    return " · ".join(parts) or "llama.cpp defaults"
