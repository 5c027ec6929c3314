"""Write a peft LoRA adapter as a GGUF LoRA file that llama.cpp loads.

Reads the adapter peft saved (adapter_config.json + adapter_model.safetensors) with numpy only,
so exporting never needs torch. The layout follows llama.cpp's convert_lora_to_gguf.py:

* ``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``; llama.cpp then
  scales each product by ``scale * alpha / rank``, which is peft's ``lora_alpha / r``.
* tensors ``blk.N.<name>.weight.lora_a`` (rank × in) and ``.lora_b`` (out × rank), names from
  the gguf package's own Hugging Face → llama.cpp table.
* llama-family models: the rows of lora_b on attn_q / attn_k are permuted exactly as the
  converter permuted the base weights, since (P·B)·A = P·(B·A).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..core.tuning_errors import ExportError
from .architectures import architecture
from .gguf_write import write_gguf_atomically

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
BASE_SHAPE = "workbench_base.json"  # written next to the adapter by the trainer


@dataclass(frozen=True)
class BaseShape:
    """What the exporter must know about the base model (from its Hugging Face config)."""

    model_type: str
    n_layers: int
    n_head: int
    n_head_kv: int

    def save(self, folder: Path) -> None:
        (Path(folder) / BASE_SHAPE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, folder: Path) -> BaseShape:
        try:
            return cls(**json.loads((Path(folder) / BASE_SHAPE).read_text()))
        except (OSError, ValueError, TypeError) as error:
            raise ExportError(f"The adapter folder {folder} does not say which base model it "
                              f"belongs to ({BASE_SHAPE}: {error}).") from None


def permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k row order: per head, the two rotary halves interleaved."""
    rows = weights.shape[0]
    return (weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def read_adapter(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    from safetensors.numpy import load_file

    folder = Path(folder)
    try:
        config = json.loads((folder / ADAPTER_CONFIG).read_text())
        tensors = load_file(str(folder / ADAPTER_WEIGHTS))
    except (OSError, ValueError) as error:
        raise ExportError(f"Cannot read the adapter in {folder}: {error}.") from None
    if config.get("use_dora"):
        raise ExportError("DoRA adapters cannot be written for llama.cpp; train a plain LoRA.")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise ExportError("Adapters with per-module ranks or alphas cannot be exported.")
    return config, tensors


def gguf_alpha(config: dict) -> float:
    """The alpha llama.cpp needs for the same scale peft applies (rsLoRA: alpha / √r)."""
    alpha, rank = float(config["lora_alpha"]), int(config["r"])
    return alpha * math.sqrt(rank) if config.get("use_rslora") else alpha


def lora_pairs(tensors: dict[str, np.ndarray]):
    """(module name as in the base model, lora_A, lora_B) for every adapted module."""
    for key in sorted(tensors):
        if not key.endswith(".lora_A.weight"):
            continue
        module = key[: -len(".lora_A.weight")]
        b_key = module + ".lora_B.weight"
        if b_key not in tensors:
            raise ExportError(f"The adapter has lora_A but no lora_B for {module}.")
        yield module.removeprefix("base_model.model."), tensors[key], tensors[b_key]


def export_lora_gguf(adapter_dir: Path, out_path: Path, *, base: BaseShape | None = None,
                     name: str = "", dtype=np.float32) -> Path:
    """Write ``out_path`` (atomically: a temporary name, then a rename)."""
    import gguf

    adapter_dir, out_path = Path(adapter_dir), Path(out_path)
    base = base or BaseShape.load(adapter_dir)
    arch = architecture(base.model_type)
    config, tensors = read_adapter(adapter_dir)
    names = gguf.get_tensor_name_map(_gguf_arch(gguf, arch.gguf_name), base.n_layers)
    return write_gguf_atomically(
        out_path, arch.gguf_name,
        lambda writer: _write(writer, names, arch, base, config, tensors, name, dtype))


def _write(writer, names, arch, base: BaseShape, config: dict, tensors, name: str,
           dtype) -> None:
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", gguf_alpha(config))
    if name:
        writer.add_string("general.name", name)
    count = 0
    for module, lora_a, lora_b in lora_pairs(tensors):
        target = names.get_name(module)
        if target is None:
            raise ExportError(f"llama.cpp has no tensor for the adapted module {module}.")
        if arch.permute_qk and target.endswith(".attn_q"):
            lora_b = permute_rows(lora_b, base.n_head)
        elif arch.permute_qk and target.endswith(".attn_k"):
            lora_b = permute_rows(lora_b, base.n_head_kv)
        writer.add_tensor(f"{target}.weight.lora_a", np.ascontiguousarray(lora_a, dtype))
        writer.add_tensor(f"{target}.weight.lora_b", np.ascontiguousarray(lora_b, dtype))
        count += 1
    if not count:
        raise ExportError("The adapter holds no LoRA weights.")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()


def _gguf_arch(gguf, name: str):
    for arch, arch_name in gguf.MODEL_ARCH_NAMES.items():
        if arch_name == name:
            return arch
    raise ExportError(f"The installed gguf package does not know the '{name}' architecture.")
