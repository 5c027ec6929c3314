"""Load a base model with transformers and wrap it with a peft LoRA (trainer process only).

torch, transformers and peft are imported inside the functions: this module is imported by the
trainer child and by tests, never when the app starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...core.tuning_errors import UnsupportedBaseError
from ..architectures import architecture, check_targets
from ..gguf_lora import BaseShape


def load_model(path: str | Path, *, dtype: str = "float32"):
    """A causal LM from a GGUF file (dequantized) or a Hugging Face folder (safetensors)."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    transformers.logging.set_verbosity_error()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model never needs the network
    path = Path(path)
    torch_dtype = getattr(torch, dtype)
    try:
        if path.is_file():
            model = AutoModelForCausalLM.from_pretrained(
                str(path.parent), gguf_file=path.name, dtype=torch_dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(
                str(path), dtype=torch_dtype, use_safetensors=True)
    except (ValueError, KeyError, OSError) as error:
        raise UnsupportedBaseError(
            f"transformers cannot load {path} for training: {error}") from None
    architecture(model.config.model_type)  # refuse what the exporter cannot write
    return model


def base_shape(model) -> BaseShape:
    config = model.config
    return BaseShape(
        model_type=config.model_type,
        n_layers=int(config.num_hidden_layers),
        n_head=int(config.num_attention_heads),
        n_head_kv=int(getattr(config, "num_key_value_heads", None)
                      or config.num_attention_heads),
    )


def add_lora(model, *, rank: int, alpha: float, dropout: float, targets: tuple[str, ...]):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(check_targets(tuple(targets))),
                        bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, config)
