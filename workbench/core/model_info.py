"""What a loaded model says about itself, and how it was loaded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import SettingsError
from .wording import counted


@dataclass(frozen=True)
class AdapterSpec:
    path: str
    scale: float = 1.0


FLASH_ATTN_MODES = ("auto", "on", "off")
CACHE_TYPES = ("f16", "bf16", "f32", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")


@dataclass(frozen=True)
class LoadSettings:
    """How to load a model. ``n_gpu_layers=None`` means *auto*: as many layers as the memory
    estimate says fit in free VRAM (library/offload.py), 0 on a CPU-only llama.cpp.

    The engine settings below change llama.cpp's arithmetic (and so, rarely, a greedy token):
    they are part of every output's provenance. Their defaults are llama.cpp's, so the app
    answers as ``llama-server`` does with no flags. ``n_parallel`` is how many requests are
    decoded together in one batch (None: 4 on the CPU, 8 with GPU offload); each has its own
    ``n_ctx`` window.
    """

    path: str
    n_ctx: int = 4096
    n_gpu_layers: int | None = None
    n_threads: int | None = None
    seed: int = 0
    adapters: tuple[AdapterSpec, ...] = ()
    n_parallel: int | None = None
    flash_attn: str = "auto"  # auto / on / off
    cache_type_k: str = "f16"
    cache_type_v: str = "f16"
    n_batch: int = 2048  # logical batch: the most prompt tokens handed to llama.cpp at once
    n_ubatch: int = 512  # physical batch: the most tokens computed in one graph
    # The user's chat template for this file (chat_template.TemplateChoice): a built-in by
    # name or their own Jinja; neither means the file's own (or the architecture's built-in).
    template_name: str | None = None
    template_jinja: str | None = None
    # A context for embeddings (the retrieval lab): pooled vectors, op ``embed``; pooling as
    # the GGUF says (``<arch>.pooling_type``), else mean (engine/host/embedding.py).
    embedding: bool = False

    def __post_init__(self):
        if self.flash_attn not in FLASH_ATTN_MODES:
            raise SettingsError(f"flash attention must be one of {', '.join(FLASH_ATTN_MODES)}, "
                             f"not {self.flash_attn!r}")
        for name in ("cache_type_k", "cache_type_v"):
            if getattr(self, name) not in CACHE_TYPES:
                raise SettingsError(f"{name.replace('_', ' ')} must be one of "
                                 f"{', '.join(CACHE_TYPES)}, not {getattr(self, name)!r}")
        if self.n_parallel is not None and not 1 <= self.n_parallel <= 64:
            raise SettingsError(f"parallel sequences must be between 1 and 64, not {self.n_parallel}")
        if self.n_ubatch < 1 or self.n_batch < self.n_ubatch:
            raise SettingsError(f"batch size {self.n_batch} must be at least the micro-batch size "
                             f"{self.n_ubatch} (and both positive)")

    def engine_settings(self) -> dict[str, Any]:
        """What decides the arithmetic, as recorded with each output; and a built-in chat
        template chosen by name (``raw``: raw completion), which decides the prompt's text."""
        chosen = {"template_name": self.template_name} if self.template_name else {}
        return {"n_ctx": self.n_ctx, "n_gpu_layers": self.n_gpu_layers,
                "flash_attn": self.flash_attn, "cache_type_k": self.cache_type_k,
                "cache_type_v": self.cache_type_v, "n_batch": self.n_batch,
                "n_ubatch": self.n_ubatch, "n_parallel": self.n_parallel, **chosen}

    @staticmethod
    def engine_fields() -> tuple[str, ...]:
        return ("n_ctx", "n_gpu_layers", "n_parallel", "flash_attn", "cache_type_k",
                "cache_type_v", "n_batch", "n_ubatch", "template_name")

    def to_wire(self) -> dict[str, Any]:
        data = asdict(self)
        data["adapters"] = [asdict(a) for a in self.adapters]
        return data

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> LoadSettings:
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
    chat_template: str | None  # the template renders use (the effective one, see below)
    special_tokens: SpecialTokens
    offload_supported: bool
    gpu_layers_requested: int
    gpu_layers_offloaded: int
    extra: dict[str, str] = field(default_factory=dict)
    # The engine as llama.cpp resolved it: n_parallel, flash_attn ("auto→on"), cache types,
    # batch sizes, threads. Recorded with outputs; shown in the model's status.
    engine: dict[str, Any] = field(default_factory=dict)
    # Where chat_template came from: "file", "user" or "built-in NAME" (chat_template.py).
    chat_template_source: str = "file"
    file_has_chat_template: bool = True
    # Why this many layers are on the GPU ("18 of 31 layers fit in 3.9 GiB free VRAM; …"):
    # the service's fit-driven choice for "auto", shown in the model's status.
    offload_reason: str = ""

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ModelMetadata:
        values = dict(data)
        values["special_tokens"] = SpecialTokens(**values["special_tokens"])
        return cls(**values)


PARALLEL_CPU, PARALLEL_GPU = 4, 8


def default_parallel(offload: bool) -> int:
    """Requests decoded together when the user sets none: four on the CPU (decode there is
    compute-bound, four sequences already fill a step), eight with GPU offload. Each has its
    own n_ctx of KV cache, which the memory estimate counts."""
    return PARALLEL_GPU if offload else PARALLEL_CPU


def describe_engine(engine: dict[str, Any]) -> str:
    """One line for a model's status: ``4 parallel · flash attn auto→on · KV f16/f16 · …``."""
    if not engine:
        return "unknown"
    threads = (counted(engine["n_threads"], "thread") if isinstance(engine.get("n_threads"), int)
               else f"{engine.get('n_threads')} threads")
    return (f"{engine.get('n_parallel', 1)} parallel · flash attn {engine.get('flash_attn')} · "
            f"KV {engine.get('cache_type_k')}/{engine.get('cache_type_v')} · batch "
            f"{engine.get('n_batch')}/{engine.get('n_ubatch')} · {threads}")


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
