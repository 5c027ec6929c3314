"""Check that a file is a complete GGUF model before a host process is asked to load it.

Cheap checks in the calling process give precise messages (empty, not GGUF, truncated);
what only llama.cpp can judge (an unknown architecture) is reported by the host. The header is
read with gguf_header (milliseconds, cached per file version), so checking a model and then
reading its metadata, or checking it twice in one load, parses it once.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ModelFileError, ModelNotFoundError
from .gguf_header import GGUFHeaderError, read_header

GGUF_MAGIC = b"GGUF"


def check_model_file(path: str | Path, kind: str = "model") -> Path:
    """Return the resolved path, or raise ModelFileError naming the file (a ``kind`` file:
    model or adapter) and the reason."""
    file = Path(path).expanduser()

    def unusable(reason: str) -> ModelFileError:
        return ModelFileError(str(file), reason, kind)

    if not file.exists():
        raise ModelNotFoundError(f"{kind.capitalize()} file {file} does not exist.")
    if file.is_dir():
        raise unusable("it is a folder, not a GGUF file")
    size = file.stat().st_size
    if size == 0:
        raise unusable("the file is empty")
    try:
        with open(file, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise unusable(f"it cannot be read ({error.strerror})") from None
    if magic != GGUF_MAGIC:
        raise unusable(f"it is not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r})")
    expected = _expected_size(file, size, unusable)
    if expected > size:
        raise unusable(f"the file is truncated ({size:,} bytes, its tensors need "
                       f"{expected:,}); download it again")
    return file.resolve()


def _expected_size(file: Path, size: int, unusable) -> int:
    """The byte offset where the last tensor ends, read from the GGUF header."""
    try:
        header = read_header(file)
    except (GGUFHeaderError, OSError):  # the precise reason stays out: one message for all
        raise unusable(f"the file is truncated or damaged: its GGUF header cannot be read to "
                       f"the end ({size:,} bytes on disk); download it again") from None
    return header.data_end


# Tensor types llama.cpp computes LoRA products with; others (F64, say) crash its decode.
ADAPTER_TENSOR_TYPES = {"F32", "F16", "BF16", "Q8_0"}


def check_adapter_file(path: str | Path) -> Path:
    """A LoRA adapter GGUF that llama.cpp can apply, or ModelFileError saying why not."""
    file = check_model_file(path, kind="adapter")
    header = read_header(file)  # the one check_model_file just read, from the cache
    kind = header.get("general.type")
    if kind != "adapter" or header.get("adapter.type") != "lora":
        raise ModelFileError(str(file), "it is not a LoRA adapter (general.type is "
                                        f"{kind or 'missing'}, adapter.type must be 'lora')",
                             "adapter")
    bad = sorted({t.type_name for t in header.tensors} - ADAPTER_TENSOR_TYPES)
    if bad:
        raise ModelFileError(str(file), f"its tensors are stored as {', '.join(bad)}; llama.cpp "
                                        f"applies LoRA adapters stored as "
                                        f"{', '.join(sorted(ADAPTER_TENSOR_TYPES))}", "adapter")
    if not header.tensors:
        raise ModelFileError(str(file), "the adapter holds no tensors", "adapter")
    return file

