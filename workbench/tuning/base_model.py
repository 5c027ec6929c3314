"""What the trainer needs to know about a base model before any weights are loaded.

Two kinds of base: a GGUF file from the library (transformers dequantizes it for training; the
adapter then runs on the very same file in llama.cpp), or a local Hugging Face folder with
safetensors weights. Architectures the trainer or exporter cannot handle are refused here,
before a process is started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.tuning_errors import UnsupportedBaseError
from .architectures import architecture, model_type_of_gguf


@dataclass(frozen=True)
class BaseInfo:
    path: str
    kind: str  # "gguf" | "folder"
    name: str
    model_type: str
    parameter_count: int
    n_layers: int
    hidden_size: int
    n_head: int
    n_head_kv: int
    vocab_size: int
    context_length: int

    @property
    def is_gguf(self) -> bool:
        return self.kind == "gguf"


def inspect_base(path: str | Path) -> BaseInfo:
    path = Path(path)
    if path.is_dir():
        return _folder(path)
    if path.is_file():
        return _gguf(path)
    raise UnsupportedBaseError(f"The base model {path} does not exist.")


def _gguf(path: Path) -> BaseInfo:
    from ..library.gguf_metadata import read_gguf_info

    info = read_gguf_info(path)
    model_type = model_type_of_gguf(info.architecture)
    return BaseInfo(str(path), "gguf", info.name, model_type, info.parameter_count,
                    info.n_layers, info.embedding_length, info.head_count, info.head_count_kv,
                    info.vocab_size, info.context_length)


def _folder(path: Path) -> BaseInfo:
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        raise UnsupportedBaseError(f"{path} is not a Hugging Face model folder "
                                   "(config.json is missing or unreadable).") from None
    if not any(path.glob("*.safetensors")):
        raise UnsupportedBaseError(f"{path} has no .safetensors weights; only safetensors "
                                   "folders are loaded (pickled .bin files can run code).")
    if not (path / "tokenizer.json").is_file():
        raise UnsupportedBaseError(f"{path} has no tokenizer.json.")
    model_type = str(config.get("model_type", "unknown"))
    architecture(model_type)
    hidden = int(config.get("hidden_size", 0))
    layers = int(config.get("num_hidden_layers", 0))
    heads = int(config.get("num_attention_heads", 0))
    inter = int(config.get("intermediate_size", 4 * hidden))
    vocab = int(config.get("vocab_size", 0))
    # Parameters of a llama-like decoder, for the estimate (exact count needs the weights).
    params = layers * (4 * hidden * hidden + 3 * hidden * inter) + 2 * vocab * hidden
    return BaseInfo(str(path), "folder", path.name, model_type, params, layers, hidden, heads,
                    int(config.get("num_key_value_heads", heads)), vocab,
                    int(config.get("max_position_embeddings", 0)))
