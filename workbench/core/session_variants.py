"""The variants a session compares, as the user set them up in the variants table.

Kept per session like the prompt, so that a restart or a switch of session shows the variants
that belong to it. Flags are kept as the text the user typed (llama.cpp style), not parsed:
a half-typed flag must come back as it was, and is only judged when a run starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from .retrieval import RetrievalSettings

CURRENT_VERSION = "current"  # the editor's content, saved as a version when the run starts


@dataclass(frozen=True)
class SessionVariant:
    label: str
    version: str = CURRENT_VERSION  # or a prompt version id
    model: str | None = None  # a library model's name, or a backend reference; None: the first
    adapter: str | None = None  # a GGUF LoRA path
    adapter_scale: float = 1.0
    temperature: float = 0.0
    seed: int = 0  # -1: a new random seed each run
    max_tokens: int = 128
    sampling_flags: str = ""  # e.g. "--top-k 40 --min-p 0.05"
    engine_flags: str = ""  # e.g. "-fa off -ctk q8_0"; empty: the model bar's
    retrieval: RetrievalSettings = RetrievalSettings()  # which document set fills {{ context }}


# What a new session starts with.
DEFAULT_VARIANTS: tuple[SessionVariant, ...] = (
    SessionVariant("Greedy", temperature=0.0, seed=0),
    SessionVariant("Creative", temperature=0.9, seed=0),
)
