"""A streaming reader for the GGUF header: metadata and tensor infos, never the weights.

Why not ``gguf.GGUFReader``: it turns every element of every array into numpy views, so a
49k-token vocabulary costs seconds and a 262k one tens of seconds, before anything is loaded.
Here arrays are stepped over (fixed-size elements in one jump, strings by their lengths) and
only small ones are kept as values; a whole header takes milliseconds.

Hostile or damaged headers are refused before anything large is allocated or looped over:
every count and length is compared with the bytes left in the file first.
Parsed headers are cached per file version, so the checks and the metadata of one load share
one read.

Tensor sizes come from GGML_TYPES below, a copy of ``gguf.constants.GGML_QUANT_SIZES``: importing
``gguf.constants`` runs the whole ``gguf`` package (numpy included, ~0.12 s), more than the rest
of the check. A test keeps the copy equal to gguf's; a type code it lacks is looked up in gguf.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..core.errors import ModelFileError

MAGIC = b"GGUF"
VERSIONS = (2, 3)  # v1 (32-bit counts) is what neither llama.cpp nor GGUFReader read any more
DEFAULT_ALIGNMENT = 32
SMALL_ARRAY = 1024  # arrays up to this many elements are kept as values (per-layer counts)
# The limits ggml's own gguf.cpp applies: a file past them would be refused by llama.cpp anyway.
MAX_STRING = 1 << 30
MAX_ELEMENTS = 1 << 30
MAX_DIMS = 4

# GGUF value type codes (gguf.constants.GGUFValueType), kept here so parsing needs no import.
STRING, ARRAY = 8, 9
_SCALAR_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
                   10: "Q", 11: "q", 12: "d"}
UINT32 = 4

# ggml type code -> (name, elements per block, bytes per block), as gguf.constants has them.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}


def ggml_type(code: int) -> tuple[str, int, int] | None:
    """(name, block size, block bytes) of a ggml type code; None if neither we nor gguf know it."""
    known = GGML_TYPES.get(code)
    if known is not None:
        return known
    try:  # a type newer than the table: the installed gguf may know it
        from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

        kind = GGMLQuantizationType(code)
        return (kind.name, *GGML_QUANT_SIZES[kind])
    except (ImportError, ValueError, KeyError):
        return None


class GGUFHeaderError(ModelFileError):
    """The header cannot be read: cut off, damaged, or claiming more than the file holds."""


@dataclass(frozen=True)
class ArrayInfo:
    """An array field: its element type and length; ``values`` only for small arrays."""
    element_type: int  # a GGUFValueType code
    length: int
    values: tuple | None = None


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # GGML order: ne0 (the row length) first, as GGUFReader gives it
    ggml_type: int  # a gguf.constants.GGMLQuantizationType code
    type_name: str  # its name: F32, Q4_K, ...
    offset: int  # absolute position of its data in the file
    n_elements: int
    n_bytes: int


@dataclass(frozen=True)
class GGUFHeader:
    """One file version's header, shared through the cache (so its mappings are read-only)."""
    version: int
    byte_order: str  # "little" or "big"
    fields: Mapping[str, Any]  # scalars and str as Python values, arrays as ArrayInfo
    field_types: Mapping[str, int]  # key -> GGUFValueType code
    tensors: tuple[TensorInfo, ...]
    alignment: int
    data_offset: int  # where the tensor data starts
    file_size: int

    def get(self, key: str, default: Any = None) -> Any:
        """The value; a small array as a new list, a large one as its ArrayInfo. A string that
        is not UTF-8 reads as missing, as GGUFReader's ``contents()`` failing did."""
        value = self.fields.get(key, default)
        if isinstance(value, ArrayInfo):
            return list(value.values) if value.values is not None else value
        return default if isinstance(value, bytes) else value

    def array_length(self, key: str) -> int | None:
        value = self.fields.get(key)
        return value.length if isinstance(value, ArrayInfo) else None

    @property
    def data_end(self) -> int:
        """Where the last tensor's data ends: a shorter file is truncated."""
        return max((t.offset + t.n_bytes for t in self.tensors), default=0)


# -- the cache -----------------------------------------------------------------------------

_CACHE_SIZE = 16
_cache: OrderedDict[tuple, GGUFHeader] = OrderedDict()
_cache_lock = threading.Lock()


def read_header(path: str | os.PathLike) -> GGUFHeader:
    """The parsed header of a GGUF file, or GGUFHeaderError (OSError if it cannot be opened).

    Cached by file version (real path, size, times): the same object comes back until the file
    changes. Failures are not cached.
    """
    real = os.path.realpath(path)
    with open(real, "rb") as handle:
        stat = os.fstat(handle.fileno())
        # ino and ctime too: a file replaced or rewritten within one mtime tick is re-read.
        key = (real, stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
        header = _parse(handle, str(path), stat.st_size)
    with _cache_lock:
        _cache[key] = header
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return header


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# -- parsing -------------------------------------------------------------------------------

def _parse(handle, path: str, size: int) -> GGUFHeader:
    def damaged(reason: str) -> GGUFHeaderError:
        return GGUFHeaderError(path, f"its GGUF header {reason}")

    if size < 24:  # magic, version, two counts
        raise damaged(f"is cut off (the file has only {size} bytes)")
    # mmap pages in only what is touched (the header), and unpack_from reads it without copies.
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
        try:
            return _Parser(view, size, damaged).header()
        except (struct.error, IndexError, OverflowError):
            # A read past the end of the file: the header is cut off (or a length is garbage).
            raise damaged("is cut off or damaged: it runs past the end of the file") from None
        except RecursionError:  # arrays nested thousands deep: garbage, no writer makes them
            raise damaged("is damaged: it nests arrays too deep") from None


class _Parser:
    def __init__(self, buf, size: int, damaged):
        self.buf, self.size, self.damaged = buf, size, damaged
        self.pos = 0

    def header(self) -> GGUFHeader:
        if self.buf[:4] != MAGIC:
            raise self.damaged(f"does not start with {MAGIC!r}")
        # As GGUFReader does: a version whose low half is zero was written big-endian.
        (version,) = struct.unpack_from("<I", self.buf, 4)
        self.order = "<"
        if version & 0xFFFF == 0:
            self.order = ">"
            (version,) = struct.unpack_from(">I", self.buf, 4)
        if version not in VERSIONS:
            raise self.damaged(f"has version {version}; GGUF versions {VERSIONS} can be read")
        self.u32, self.u64 = struct.Struct(self.order + "I"), struct.Struct(self.order + "Q")
        n_tensors, n_kv = struct.unpack_from(self.order + "QQ", self.buf, 8)
        self.pos = 24
        # Smallest possible entries: key length + type + 1 byte; name length + dims + type + offset.
        self._check_count(n_kv, 13, "key-value pairs")
        self._check_count(n_tensors, 24, "tensors")

        fields: dict[str, Any] = {}
        types: dict[str, int] = {}
        for _ in range(n_kv):
            key = self._name("key")
            if key in fields:
                raise self.damaged(f"repeats the key {key!r}")
            types[key] = self._read_u32()
            fields[key] = self._value(types[key])
        alignment = fields.get("general.alignment", DEFAULT_ALIGNMENT)
        if "general.alignment" in fields and (
                types["general.alignment"] != UINT32 or alignment == 0
                or alignment & (alignment - 1)):
            raise self.damaged(f"has an invalid general.alignment ({alignment!r})")

        infos = [self._tensor_info() for _ in range(n_tensors)]
        data_offset = -(-self.pos // alignment) * alignment
        tensors, names = [], set()
        for name, shape, code, relative in infos:
            if name in names:
                raise self.damaged(f"repeats the tensor {name!r}")
            names.add(name)
            n_elements = 1
            for dim in shape:
                n_elements *= dim
            type_name, block, type_size = ggml_type(code)
            tensors.append(TensorInfo(name, shape, code, type_name, data_offset + relative,
                                      n_elements, n_elements * type_size // block))
        return GGUFHeader(version, "big" if self.order == ">" else "little",
                          MappingProxyType(fields), MappingProxyType(types), tuple(tensors),
                          alignment, data_offset, self.size)

    def _check_count(self, count: int, min_bytes: int, what: str) -> None:
        """Refuse a count the rest of the file cannot hold, before looping over it."""
        if count > MAX_ELEMENTS or count * min_bytes > self.size - self.pos:
            raise self.damaged(f"claims {count:,} {what}, more than the {self.size:,}-byte "
                               f"file can hold")

    def _read_u32(self) -> int:
        (value,) = self.u32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return value

    def _read_u64(self) -> int:
        (value,) = self.u64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return value

    def _bytes(self) -> bytes:
        length = self._read_u64()
        if length > MAX_STRING or length > self.size - self.pos:
            raise self.damaged(f"claims a string of {length:,} bytes at offset {self.pos - 8:,}, "
                               f"more than the {self.size:,}-byte file can hold")
        start, self.pos = self.pos, self.pos + length
        return self.buf[start:self.pos]

    def _name(self, what: str) -> str:
        raw = self._bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.damaged(f"has a {what} that is not UTF-8 ({raw[:40]!r})") from None

    def _value(self, kind: int) -> Any:
        if kind == STRING:
            raw = self._bytes()
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw  # kept, read as missing: GGUFReader fails only when it is used
        if kind == ARRAY:
            return self._array()
        fmt = _SCALAR_FORMATS.get(kind)
        if fmt is None:
            raise self.damaged(f"has a value of unknown type {kind} at offset {self.pos:,}")
        (value,) = struct.unpack_from(self.order + fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def _array(self) -> ArrayInfo:
        element, length = self._read_u32(), self._read_u64()
        if element == STRING:
            self._check_count(length, 8, "strings in an array")
            if length <= SMALL_ARRAY:
                return ArrayInfo(element, length, tuple(self._value(STRING) for _ in range(length)))
            self._skip_strings(length)
            return ArrayInfo(element, length)
        if element == ARRAY:  # nested arrays: no known writer makes them; step over them
            self._check_count(length, 12, "arrays in an array")
            for _ in range(length):
                self._array()
            return ArrayInfo(element, length)
        fmt = _SCALAR_FORMATS.get(element)
        if fmt is None:
            raise self.damaged(f"has an array of unknown type {element} at offset {self.pos:,}")
        width = struct.calcsize(fmt)
        self._check_count(length, width, "array elements")
        start, self.pos = self.pos, self.pos + length * width
        if length > SMALL_ARRAY:
            return ArrayInfo(element, length)
        values = struct.unpack_from(f"{self.order}{length}{fmt}", self.buf, start)
        return ArrayInfo(element, length, values)

    def _skip_strings(self, count: int) -> None:
        # The hot loop for vocabularies and merges (up to ~10^6 entries): locals only.
        unpack, buf, pos, end = self.u64.unpack_from, self.buf, self.pos, self.size
        for _ in range(count):
            (length,) = unpack(buf, pos)  # struct.error past the end of the file
            pos += 8 + length
            if length > MAX_STRING or pos > end:
                raise self.damaged(f"claims a string of {length:,} bytes at offset "
                                   f"{pos - 8 - length:,}, more than the {end:,}-byte file "
                                   f"can hold")
        self.pos = pos

    def _tensor_info(self) -> tuple[str, tuple[int, ...], int, int]:
        name = self._name("tensor name")
        n_dims = self._read_u32()
        if n_dims > MAX_DIMS:
            raise self.damaged(f"gives tensor {name!r} {n_dims} dimensions (at most {MAX_DIMS})")
        shape = struct.unpack_from(f"{self.order}{n_dims}Q", self.buf, self.pos)
        self.pos += 8 * n_dims
        code = self._read_u32()
        if ggml_type(code) is None:
            raise self.damaged(f"gives tensor {name!r} the unknown type {code}")
        return name, shape, code, self._read_u64()
