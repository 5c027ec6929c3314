"""Model architectures the trainer and the GGUF exporter handle, and how they differ.

Only decoder-only models whose LoRA targets map one-to-one onto llama.cpp tensors are listed:
fused projections (Phi-3's qkv_proj, say) would need splitting lora_b, which is not done.
``permute_qk``: llama.cpp's converter reorders the rows of the query and key weights of
llama-family models (interleaved rotary halves, see convert_hf_to_gguf.py LlamaModel.permute);
a LoRA delta on those weights must have its rows reordered the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.tuning_errors import UnsupportedBaseError


@dataclass(frozen=True)
class Architecture:
    gguf_name: str  # general.architecture in GGUF files
    permute_qk: bool


# Hugging Face model_type -> what llama.cpp calls it. Tested end to end: llama (SmolLM2).
BY_MODEL_TYPE: dict[str, Architecture] = {
    "llama": Architecture("llama", True),
    "mistral": Architecture("llama", True),  # convert_hf_to_gguf writes Mistral v0.x as llama
    "qwen2": Architecture("qwen2", False),
    "qwen3": Architecture("qwen3", False),
}

# GGUF general.architecture -> the Hugging Face model_type transformers loads it as.
MODEL_TYPE_BY_GGUF = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}

# Every linear layer of a block: the usual LoRA targets of these architectures.
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def architecture(model_type: str) -> Architecture:
    arch = BY_MODEL_TYPE.get(model_type)
    if arch is None:
        raise UnsupportedBaseError(
            f"LoRA tuning does not handle the '{model_type}' architecture; supported: "
            f"{', '.join(sorted(BY_MODEL_TYPE))}.")
    return arch


def model_type_of_gguf(gguf_arch: str) -> str:
    model_type = MODEL_TYPE_BY_GGUF.get(gguf_arch)
    if model_type is None:
        raise UnsupportedBaseError(
            f"LoRA tuning does not handle GGUF models of the '{gguf_arch}' architecture; "
            f"supported: {', '.join(sorted(MODEL_TYPE_BY_GGUF))}.")
    return model_type


def check_targets(targets: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [t for t in targets if t not in ALL_LINEAR]
    if unknown or not targets:
        raise UnsupportedBaseError(
            f"Target modules must be chosen from {', '.join(ALL_LINEAR)}"
            + (f"; not {', '.join(unknown)}." if unknown else "."))
    return targets
