"""The streaming header reader agrees with gguf.GGUFReader, refuses hostile headers fast, caches.

GGUFReader is the reference: every field (type and value; arrays by element type and length,
and values where we keep them) and every tensor (name, shape, type, data offset, size) must be
the same, on the real bundled model, a LoRA adapter and the broken files of the other tests.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

from tests.fixtures import bad_models
from tests.fixtures.tiny_lora import write_lora
from workbench.core.errors import ModelFileError
from workbench.library import gguf_header
from workbench.library.gguf_check import check_adapter_file, check_model_file
from workbench.library.gguf_header import ArrayInfo, GGUFHeaderError, read_header

gguf = pytest.importorskip("gguf")
ARRAY = gguf.GGUFValueType.ARRAY


def assert_same_as_reader(header, reader) -> None:
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert list(header.fields) == list(fields)  # same keys, in file order
    assert header.version == int(reader.fields["GGUF.version"].parts[0][0])
    for key, field in fields.items():
        assert header.field_types[key] == field.types[0], key
        value = header.fields[key]
        if field.types[0] == ARRAY:
            # parts: key length, key, value type, element type, length, elements...
            assert isinstance(value, ArrayInfo), key
            assert value.element_type == int(field.parts[3][0]), key
            assert value.length == int(field.parts[4][0]) == len(field.data), key
            if value.values is not None:
                assert list(value.values) == field.contents(), key
        else:
            expected = field.contents()
            assert value == expected and type(value) is type(expected), key
    assert header.alignment == reader.alignment
    assert header.data_offset == reader.data_offset
    assert len(header.tensors) == len(reader.tensors)
    for mine, theirs in zip(header.tensors, reader.tensors):
        assert mine.name == theirs.name
        assert mine.shape == tuple(theirs.shape.tolist()), mine.name
        assert mine.ggml_type == theirs.tensor_type and mine.type_name == theirs.tensor_type.name
        assert mine.offset == theirs.data_offset, mine.name
        assert (mine.n_bytes, mine.n_elements) == (theirs.n_bytes, theirs.n_elements), mine.name


def reader_outcome(path):
    try:
        return gguf.GGUFReader(path, "r")
    except Exception:  # noqa: BLE001 - GGUFReader refuses in many ways; the refusal is the point
        return None


def header_outcome(path):
    gguf_header.clear_cache()
    try:
        return read_header(path)
    except GGUFHeaderError:
        return None


# -- agreement with GGUFReader --------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled_reader(bundled_model):
    return gguf.GGUFReader(bundled_model, "r")  # seconds: read once for the module


def test_bundled_model_header_agrees_with_gguf_reader(bundled_model, bundled_reader):
    header = header_outcome(bundled_model)
    assert_same_as_reader(header, bundled_reader)
    # The vocabulary is stepped over, not kept; short arrays are kept as values.
    assert header.array_length("tokenizer.ggml.tokens") == 49152
    assert header.fields["tokenizer.ggml.tokens"].values is None
    assert header.get("general.languages") == ["en"]
    assert header.data_end == header.file_size == bundled_model.stat().st_size


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_lora_adapter_header_agrees_with_gguf_reader(tmp_path, dtype):
    path = write_lora(tmp_path / "lora.gguf", strength=1.0, dtype=dtype)
    header = header_outcome(path)
    assert_same_as_reader(header, gguf.GGUFReader(path, "r"))
    assert header.get("general.type") == "adapter" and header.get("adapter.type") == "lora"
    assert header.get("adapter.lora.alpha") == 8.0


def test_big_endian_file_agrees_with_gguf_reader(tmp_path):
    path = tmp_path / "big.gguf"
    writer = gguf.GGUFWriter(str(path), "llama", endianess=gguf.GGUFEndian.BIG)
    writer.add_array("llama.attention.head_count", [4, 4, 8])
    writer.add_array("general.tags", ["a", "bc"])
    writer.add_float64("x.f64", 0.1)
    writer.add_bool("x.flag", True)
    writer.add_int16("x.neg", -7)
    writer.add_tensor("token_embd.weight", np.arange(32, dtype=np.float32).reshape(4, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    header = header_outcome(path)
    assert header.byte_order == "big"
    assert header.get("llama.attention.head_count") == [4, 4, 8]
    assert_same_as_reader(header, gguf.GGUFReader(path, "r"))


BAD_FILES = {
    "empty": lambda d, m: bad_models.empty_file(d),
    "not gguf": lambda d, m: bad_models.not_gguf(d),
    "cut header": bad_models.truncated_header,
    "unknown architecture": lambda d, m: bad_models.unknown_architecture(d),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused_or_read_as_gguf_reader_does(case, tmp_path, bundled_model):
    path = BAD_FILES[case](tmp_path, bundled_model)
    reader, header = reader_outcome(path), header_outcome(path)
    assert (reader is None) == (header is None)
    if reader is not None:
        assert_same_as_reader(header, reader)


def test_cut_data_has_a_whole_header_that_says_how_much_is_missing(tmp_path, bundled_model,
                                                                  bundled_reader):
    # GGUFReader refuses this file while mapping the tensor data; the header itself is whole,
    # and the check reports the precise reason from it.
    path = bad_models.truncated_data(tmp_path, bundled_model)
    header = header_outcome(path)
    assert_same_as_reader(header, bundled_reader)
    assert header.data_end == bundled_model.stat().st_size > header.file_size
    with pytest.raises(ModelFileError, match=r"the file is truncated \(49,181,216 bytes, its "
                                             r"tensors need 98,362,432\)"):
        check_model_file(path)


def patched_lora(tmp_path, name, patch) -> tuple[object, object]:
    """A LoRA file with bytes changed; (GGUFReader or None, header or None)."""
    path = write_lora(tmp_path / name, strength=1.0, layers=1)
    data = bytearray(path.read_bytes())
    patch(data)
    path.write_bytes(bytes(data))
    return reader_outcome(path), header_outcome(path)


def test_versions_two_and_three_are_read_and_one_is_refused_as_gguf_reader_does(tmp_path):
    for version, readable in ((2, True), (3, True), (1, False), (4, False)):
        reader, header = patched_lora(tmp_path, f"v{version}.gguf",
                                      lambda d, v=version: d.__setitem__(
                                          slice(4, 8), struct.pack("<I", v)))
        assert (reader is not None, header is not None) == (readable, readable)
        if readable:
            assert header.version == version
            assert_same_as_reader(header, reader)


def test_damaged_headers_are_refused_as_gguf_reader_refuses_them(tmp_path):
    def replace(old: bytes, new: bytes):
        def patch(data: bytearray) -> None:
            at = data.index(old)
            data[at:at + len(new)] = new
        return patch

    cases = {
        # Two keys of the same length: the second made a copy of the first.
        "duplicate key": replace(b"adapter.type", b"general.type"),
        "duplicate tensor": replace(b"blk.0.attn_v.weight.lora_a", b"blk.0.attn_q.weight.lora_a"),
        "unknown value type": replace(b"adapter.type\x08", b"adapter.type\x63"),
    }
    for name, patch in cases.items():
        reader, header = patched_lora(tmp_path, name.replace(" ", "-") + ".gguf", patch)
        assert reader is None and header is None, name


# -- hostile headers ------------------------------------------------------------------------

def gguf_bytes(n_tensors: int, n_kv: int, body: bytes, pad: int = 4096) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + body + b"\0" * pad


def key(name: str, value_type: int) -> bytes:
    return struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", value_type)


HOSTILE = {
    "2**60 key-value pairs": (gguf_bytes(0, 2**60, b""), "claims 1,152,921,504,606,846,976 "
                                                          "key-value pairs"),
    "2**60 tensors": (gguf_bytes(2**60, 0, b""), "tensors"),
    "a key of 2**40 bytes": (gguf_bytes(0, 1, struct.pack("<Q", 2**40)),
                             "a string of 1,099,511,627,776 bytes"),
    "a string value of 2**40 bytes": (gguf_bytes(0, 1, key("k", 8) + struct.pack("<Q", 2**40)),
                                      "a string of 1,099,511,627,776 bytes"),
    "2**40 array elements": (gguf_bytes(0, 1, key("k", 9) + struct.pack("<IQ", 0, 2**40)),
                             "array elements"),
    "2**40 strings in an array": (gguf_bytes(0, 1, key("k", 9) + struct.pack("<IQ", 8, 2**40)),
                                  "strings in an array"),
    "a string in an array of 2**40 bytes": (
        gguf_bytes(0, 1, key("k", 9) + struct.pack("<IQ", 8, 2000) + struct.pack("<Q", 2**40),
                   pad=20_000),
        "a string of 1,099,511,627,776 bytes"),
    "a tensor of 5 dimensions": (
        gguf_bytes(1, 0, struct.pack("<Q", 1) + b"t" + struct.pack("<I5Q", 5, 1, 1, 1, 1, 1)),
        "5 dimensions"),
    "an unknown tensor type": (
        gguf_bytes(1, 0, struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 8, 999, 0)),
        "unknown type 999"),
    "arrays nested 100,000 deep": (
        gguf_bytes(0, 1, key("k", 9) + struct.pack("<IQ", 9, 1) * 100_000), "nests arrays"),
    "an alignment of 3": (gguf_bytes(0, 1, key("general.alignment", 4) + struct.pack("<I", 3)),
                          "invalid general.alignment"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_headers_fail_fast_with_a_clear_message(case, tmp_path):
    data, reason = HOSTILE[case]
    path = tmp_path / "hostile.gguf"
    path.write_bytes(data)
    gguf_header.clear_cache()
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(GGUFHeaderError) as caught:
        read_header(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000  # nothing sized by the claim was allocated
    assert elapsed < 5.0  # generous (a loaded CI machine): reading 2**40 claimed bytes takes far longer
    message = str(caught.value)
    assert message.startswith(f"Cannot use model file {path}: its GGUF header ")
    assert reason in message and "\n" not in message
    # (GGUFReader is no reference here: gguf 0.19 from PyPI accepts some of these, reading a
    # string "of 2**40 bytes" as whatever the file has left.)
    with pytest.raises(ModelFileError, match="truncated or damaged: its GGUF header cannot be "
                                             "read to the end"):
        check_model_file(path)  # the check keeps its one message for every damaged header


def test_a_cut_vocabulary_is_refused(tmp_path, bundled_model):
    path = tmp_path / "cut-vocab.gguf"
    with open(bundled_model, "rb") as source:
        path.write_bytes(source.read(300_000))  # inside tokenizer.ggml.tokens
    assert header_outcome(path) is None and reader_outcome(path) is None


# -- ggml types -----------------------------------------------------------------------------

def test_the_ggml_type_table_matches_gguf(monkeypatch):
    for code, (name, block, size) in gguf_header.GGML_TYPES.items():
        try:
            kind = gguf.GGMLQuantizationType(code)
        except ValueError:
            continue  # an older gguf than the table: nothing to compare
        assert (name, block, size) == (kind.name, *gguf.GGML_QUANT_SIZES[kind])
    for kind, sizes in gguf.GGML_QUANT_SIZES.items():
        assert gguf_header.ggml_type(int(kind)) == (kind.name, *sizes)
    # A type newer than the table is looked up in gguf.
    monkeypatch.delitem(gguf_header.GGML_TYPES, 3)
    assert gguf_header.ggml_type(3) == ("Q4_1", 32, 20)
    assert gguf_header.ggml_type(9999) is None


def test_checking_a_model_does_not_import_gguf(bundled_model):
    code = ("import sys; from workbench.library.gguf_check import check_model_file; "
            f"check_model_file({str(bundled_model)!r}); print('gguf' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False"


# -- the cache ------------------------------------------------------------------------------

def test_the_cache_returns_the_same_header_until_the_file_changes(tmp_path):
    path = write_lora(tmp_path / "lora.gguf", strength=1.0, layers=4)
    gguf_header.clear_cache()
    first = read_header(path)
    assert read_header(path) is first
    os.symlink(path, tmp_path / "link.gguf")
    assert read_header(tmp_path / "link.gguf") is first  # the same file by another name
    write_lora(path, strength=1.0, layers=2)  # new content, new size
    second = read_header(path)
    assert second is not first
    assert len(second.tensors) == 8 and len(first.tensors) == 16
    assert second.file_size == path.stat().st_size < first.file_size


def test_one_load_parses_the_header_once(tmp_path, bundled_model, monkeypatch):
    from workbench.library.gguf_metadata import read_gguf_info

    copy = tmp_path / "copy.gguf"
    shutil.copy(bundled_model, copy)
    adapter = write_lora(tmp_path / "lora.gguf", strength=1.0)
    parsed = []
    real_parse = gguf_header._parse
    monkeypatch.setattr(gguf_header, "_parse",
                        lambda handle, path, size: parsed.append(path) or
                        real_parse(handle, path, size))
    gguf_header.clear_cache()
    check_model_file(copy)
    check_model_file(copy)
    read_gguf_info(copy)
    check_adapter_file(adapter)
    assert [os.path.basename(p) for p in parsed] == ["copy.gguf", "lora.gguf"]


def test_reading_the_bundled_header_takes_milliseconds_not_seconds(bundled_model):
    timings = []
    for _ in range(3):
        gguf_header.clear_cache()
        started = time.perf_counter()
        read_header(bundled_model)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 1.0  # ~10 ms alone; GGUFReader takes seconds on the same file


def test_the_quantization_table_matches_gguf():
    from gguf import LlamaFileType

    from workbench.library.quantization import FILE_TYPES, quantization_name

    for member in LlamaFileType:
        expected = member.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        assert FILE_TYPES.get(member.value, expected) == expected
        assert quantization_name(member.value) == expected
    assert quantization_name("x") == "type x"
