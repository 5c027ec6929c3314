"""Quantization names from a GGUF ``general.file_type`` value.

A table, not ``gguf.LlamaFileType``: importing the gguf package pulls in numpy and its whole
reader (~0.1 s), paid in the model host's start-up and every header read. A test keeps this
table equal to gguf's enum.
"""

from __future__ import annotations

FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0", 1024: "GUESSED",
}


def quantization_name(file_type: object) -> str:
    if file_type is None:
        return "unknown"
    try:
        number = int(file_type)
    except (ValueError, TypeError):
        return f"type {file_type}"
    name = FILE_TYPES.get(number)
    if name is None:  # newer than this table: ask gguf, which may know it
        try:
            from gguf import LlamaFileType

            name = LlamaFileType(number).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except (ValueError, ImportError):
            return f"type {file_type}"
    return name
