"""What a loaded model says about itself, and how it was loaded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AdapterSpec:
    path: str
    scale: float = 1.0


@dataclass(frozen=True)
class LoadSettings:
    """How to load a model. ``n_gpu_layers=None`` means: all layers if offload is supported."""

    path: str
    n_ctx: int = 4096
    n_gpu_layers: int | None = None
    n_threads: int | None = None
    seed: int = 0
    adapters: tuple[AdapterSpec, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        data = asdict(self)
        data["adapters"] = [asdict(a) for a in self.adapters]
        return data

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "LoadSettings":
        values = dict(data)
        values["adapters"] = tuple(AdapterSpec(**a) for a in values.get("adapters") or ())
        return cls(**values)


@dataclass(frozen=True)
class SpecialTokens:
    bos_id: int | None
    eos_id: int | None
    bos_text: str
    eos_text: str


@dataclass(frozen=True)
class ModelMetadata:
    path: str
    name: str
    architecture: str
    parameter_count: int
    quantization: str
    file_size: int
    context_length: int  # trained context length
    n_ctx: int  # context window of this load
    n_layers: int
    vocab_size: int
    chat_template: str | None
    special_tokens: SpecialTokens
    offload_supported: bool
    gpu_layers_requested: int
    gpu_layers_offloaded: int
    extra: dict[str, str] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "ModelMetadata":
        values = dict(data)
        values["special_tokens"] = SpecialTokens(**values["special_tokens"])
        return cls(**values)


def human_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
