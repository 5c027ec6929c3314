"""What a GGUF file says about its model, read from the header (no weights loaded).

The same numbers llama.cpp reports after loading (architecture, parameter count, quantization,
trained context, chat template), plus the shapes the memory estimate needs (layers, KV heads,
bytes per layer). The header is read with gguf_header, which steps over the vocabulary instead
of parsing it (milliseconds, where gguf.GGUFReader took seconds); results are still cached per
file version (path, size, mtime) in a JSON file, so listing a library opens no model files.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..core.errors import ModelFileError, ModelNotFoundError
from .gguf_check import GGUF_MAGIC, check_model_file
from .gguf_header import ArrayInfo, GGUFHeaderError, read_header
from .quantization import quantization_name
from .splits import part_paths, split_name


@dataclass(frozen=True)
class GGUFInfo:
    path: str
    name: str
    architecture: str
    parameter_count: int
    quantization: str
    file_size: int  # all parts of a split model together
    context_length: int  # trained context length
    n_layers: int
    embedding_length: int
    head_count: int
    head_count_kv: int
    key_length: int  # per head
    value_length: int
    vocab_size: int
    has_chat_template: bool
    license: str = ""
    base_model: str = ""
    organization: str = ""
    # general.basename / general.finetune ("gemma-3" / "it"): with the name, they tell an
    # instruction-tuned file from a base model (core/base_model.py)
    basename: str = ""
    finetune: str = ""
    parts: int = 1
    layer_bytes: int = 0  # weights of one repeating block (average)
    output_bytes: int = 0  # output head and final norm: offloaded as the last "layer"
    other_bytes: int = 0  # token embeddings and the rest, kept in RAM by llama.cpp

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GGUFInfo:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """Read the header of a (first-part) GGUF file; ModelFileError if it is not a usable one."""
    first = _check_start(Path(path))
    parts = part_paths(first)
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise ModelFileError(str(first), f"parts of this split model are missing: "
                                         f"{', '.join(missing)}")
    try:
        header = read_header(first)
        tensors = list(header.tensors)
        for part in parts[1:]:  # check_model_file reads the part's header; this hits the cache
            tensors.extend(read_header(check_model_file(part)).tensors)
    except (GGUFHeaderError, OSError):  # one message for all reasons, as before
        raise ModelFileError(str(first), "the file is truncated or damaged: its GGUF header "
                                         "cannot be read to the end; download it again") from None
    # The same truncation check as gguf_check, on the header already read.
    end = header.data_end
    if end > first.stat().st_size:
        raise ModelFileError(str(first), f"the file is truncated ({first.stat().st_size:,} "
                                         f"bytes, its tensors need {end:,}); download it again")

    get = header.get
    arch = get("general.architecture", "unknown")
    head_count = _first_int(get(f"{arch}.attention.head_count"), 0)
    embedding = int(get(f"{arch}.embedding_length", 0) or 0)
    head_dim = embedding // head_count if head_count else 0
    vocab = header.array_length("tokenizer.ggml.tokens")
    if vocab is None:
        vocab = int(get(f"{arch}.vocab_size", 0) or 0)
    layer_bytes, output_bytes, other_bytes = _weight_split(tensors)
    file_type = get("general.file_type")
    return GGUFInfo(
        path=str(first),
        name=get("general.name") or split_stem(first),
        architecture=arch,
        parameter_count=sum(int(t.n_elements) for t in tensors),
        quantization=(quantization_name(file_type) if file_type is not None
                      else _dominant_type(tensors)),
        file_size=sum(p.stat().st_size for p in parts),
        context_length=int(get(f"{arch}.context_length", 0) or 0),
        n_layers=int(get(f"{arch}.block_count", 0) or 0),
        embedding_length=embedding,
        head_count=head_count,
        # Several architectures store per-layer head counts as arrays; the largest bounds memory.
        head_count_kv=_first_int(get(f"{arch}.attention.head_count_kv"), head_count),
        key_length=int(get(f"{arch}.attention.key_length", head_dim) or head_dim),
        value_length=int(get(f"{arch}.attention.value_length", head_dim) or head_dim),
        vocab_size=vocab,
        has_chat_template=bool(get("tokenizer.chat_template")),
        license=str(get("general.license", "") or ""),
        base_model=_base_model(get),
        organization=str(get("general.organization", "") or ""),
        basename=str(get("general.basename", "") or ""),
        finetune=str(get("general.finetune", "") or ""),
        parts=len(parts),
        layer_bytes=layer_bytes,
        output_bytes=output_bytes,
        other_bytes=other_bytes,
    )


def _check_start(file: Path) -> Path:
    """Exists, is a file, starts with the GGUF magic (check_model_file's cheap part)."""
    file = file.expanduser()
    if not file.exists():
        raise ModelNotFoundError(f"Model file {file} does not exist.")
    if file.is_dir():
        raise ModelFileError(str(file), "it is a folder, not a GGUF file")
    try:
        with open(file, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise ModelFileError(str(file), f"it cannot be read ({error.strerror})") from None
    if magic != GGUF_MAGIC:
        raise ModelFileError(str(file), "it is not a GGUF file" if magic else "the file is empty")
    # Not resolve(): a Hugging Face cache entry is a link to a blob named by its hash, and
    # the parts of a split model are found by the link's name.
    return Path(os.path.abspath(file))


def split_stem(path: Path) -> str:
    split = split_name(path.name)
    return split.stem if split else path.stem


def _first_int(value: Any, default: int) -> int:
    if isinstance(value, ArrayInfo):  # too long to have been kept: not a per-layer count
        value = None
    if isinstance(value, list):
        value = max(value) if value else None
    return int(value) if value is not None else int(default)


def _base_model(get) -> str:
    """``general.base_model.0.*``: the repository when known (``org/name``), else the name."""
    url = str(get("general.base_model.0.repo_url", "") or "")
    if "huggingface.co/" in url:
        return url.split("huggingface.co/", 1)[1].strip("/")
    name = str(get("general.base_model.0.name", "") or "")
    org = str(get("general.base_model.0.organization", "") or "")
    return f"{name} ({org})" if name and org else name


def _weight_split(tensors) -> tuple[int, int, int]:
    """Bytes per repeating block (average), of the output head, and of everything else."""
    blocks: dict[str, int] = {}
    output = other = embeddings = 0
    has_output_weight = False
    for tensor in tensors:
        name, size = str(tensor.name), int(tensor.n_bytes)
        if name.startswith("blk."):
            block = name.split(".", 2)[1]
            blocks[block] = blocks.get(block, 0) + size
        elif name.startswith("output"):
            output += size
            has_output_weight |= name == "output.weight"
        else:
            other += size
            embeddings += size if name == "token_embd.weight" else 0
    if not has_output_weight:
        # Tied embeddings: llama.cpp uses a copy of token_embd as the output head.
        output += embeddings
    per_layer = sum(blocks.values()) // len(blocks) if blocks else 0
    return per_layer, output, other


def _dominant_type(tensors) -> str:
    """Files without ``general.file_type``: the type most of the weights (2-D tensors) use."""
    counts = Counter(t.type_name for t in tensors if len(t.shape) > 1)
    return counts.most_common(1)[0][0] if counts else "unknown"


class MetadataCache:
    """GGUFInfo per file version, kept in a JSON file so a library listing stays fast."""

    def __init__(self, file: Path):
        self.file = file
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] | None = None

    def info(self, path: str | Path) -> GGUFInfo:
        file = Path(os.path.abspath(path))
        try:
            stat = file.stat()
        except OSError:
            return read_gguf_info(file)  # raises the precise error (missing, unreadable)
        stamp = [stat.st_size, stat.st_mtime_ns]
        key = str(file)
        with self._lock:
            entry = self._load().get(key)
            # An entry cached before basename/finetune were read is read again.
            if entry and entry.get("stamp") == stamp and "finetune" in entry["info"]:
                return GGUFInfo.from_dict(entry["info"])
        info = read_gguf_info(file)
        with self._lock:
            self._load()[key] = {"stamp": stamp, "info": info.to_dict()}
            self._save()
        return info

    def forget(self, path: str | Path) -> None:
        with self._lock:
            if self._load().pop(os.path.abspath(path), None) is not None:
                self._save()

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            try:
                self._data = json.loads(self.file.read_text("utf-8"))
            except (OSError, ValueError):
                self._data = {}  # a missing or damaged cache is rebuilt
        return self._data

    def _save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._data), "utf-8")
        os.replace(tmp, self.file)
