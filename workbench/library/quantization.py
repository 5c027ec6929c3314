"""Quantization names from a GGUF ``general.file_type`` value."""

from __future__ import annotations


def quantization_name(file_type: object) -> str:
    if file_type is None:
        return "unknown"
    try:
        from gguf import LlamaFileType

        name = LlamaFileType(int(file_type)).name  # e.g. MOSTLY_Q4_1
    except (ValueError, TypeError, ImportError):
        return f"type {file_type}"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")
