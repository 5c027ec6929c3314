"""Write a full GGUF model: a base GGUF with a GGUF LoRA merged in (like llama-export-lora).

Works on GGUF files only, so the merge uses the adapter exactly as llama.cpp reads it (names,
q/k row order and alpha already in llama.cpp's terms). Adapted tensors are dequantized, get
``scale · alpha/rank · B·A`` added and are stored as F32 or F16; every other tensor and all
metadata (tokenizer, chat template) are copied byte for byte. With ``dequantize_all`` every
quantized tensor is stored as float: a base llama.cpp computes in full precision, which is what
the exporter's correctness test compares against transformers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.tuning_errors import ExportError
from .gguf_write import write_gguf_atomically

FLOAT_TYPES = ("F32", "F16")


def read_lora(path: Path) -> dict[str, np.ndarray]:
    """Base tensor name -> its delta (out × in, float32), alpha/rank applied."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path), "r")
    field = reader.get_field("adapter.lora.alpha")
    alpha = float(field.contents()) if field is not None else 0.0
    parts: dict[str, dict[str, np.ndarray]] = {}
    for tensor in reader.tensors:
        base, _, kind = tensor.name.rpartition(".")
        parts.setdefault(base, {})[kind] = np.asarray(tensor.data, dtype=np.float32)
    deltas = {}
    for base, pair in parts.items():
        if set(pair) != {"lora_a", "lora_b"}:
            raise ExportError(f"The adapter {path} has an incomplete pair for {base}.")
        rank = pair["lora_a"].shape[0]
        factor = alpha / rank if alpha else 1.0
        deltas[base] = (pair["lora_b"] @ pair["lora_a"]) * factor
    return deltas


def write_merged_gguf(base_path: Path, out_path: Path, *, lora_path: Path | None = None,
                      scale: float = 1.0, dequantize_all: bool = False,
                      out_type: str = "F16") -> Path:
    import gguf
    from gguf.quants import dequantize

    if out_type not in FLOAT_TYPES:
        raise ExportError(f"Merged tensors are stored as F32 or F16, not {out_type}.")
    deltas = read_lora(Path(lora_path)) if lora_path else {}
    reader = gguf.GGUFReader(str(base_path), "r")
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    np_type = np.float32 if out_type == "F32" else np.float16
    qtype = gguf.GGMLQuantizationType[out_type]

    def converted(tensor) -> np.ndarray | None:
        """The tensor's new data, or None to copy it unchanged."""
        delta = deltas.get(tensor.name)
        is_float = tensor.tensor_type.name in ("F32", "F16", "BF16")
        if delta is None and (is_float or not dequantize_all):
            return None
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        if delta is not None:
            if delta.shape != values.shape:
                raise ExportError(f"The adapter does not fit the model: {tensor.name} is "
                                  f"{values.shape}, the adapter's delta {delta.shape}.")
            values += np.float32(scale) * delta
        # Norms and other 1-D tensors stay F32, as llama.cpp's converter writes them.
        return values.astype(np.float32 if values.ndim == 1 else np_type)

    missing = set(deltas) - {t.name for t in reader.tensors}
    if missing:
        raise ExportError(f"The adapter names tensors the model does not have: "
                          f"{', '.join(sorted(missing)[:3])}.")
    def fill(writer) -> None:
        _copy_metadata(gguf, reader, writer, dequantize_all, out_type)
        new_data = {}
        for tensor in reader.tensors:
            data = converted(tensor)
            if data is None:
                writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype,
                                       tensor.data.nbytes, tensor.tensor_type)
            else:
                new_data[tensor.name] = data
                kind = gguf.GGMLQuantizationType.F32 if data.dtype == np.float32 else qtype
                writer.add_tensor_info(tensor.name, data.shape, data.dtype, data.nbytes, kind)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for tensor in reader.tensors:
            writer.write_tensor_data(new_data.get(tensor.name, tensor.data))

    return write_gguf_atomically(out_path, arch, fill)


def _copy_metadata(gguf, reader, writer, dequantize_all: bool, out_type: str) -> None:
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE and dequantize_all:
            value = int(gguf.LlamaFileType.ALL_F32 if out_type == "F32"
                        else gguf.LlamaFileType.MOSTLY_F16)
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)
