"""GGUF metadata read from the file header agrees with llama.cpp; the library lists what it should."""

from __future__ import annotations

import os
import shutil

import pytest

from workbench.core.errors import ModelFileError
from workbench.core.paths import app_paths
from workbench.library.gguf_metadata import MetadataCache, read_gguf_info
from workbench.services.library import LibraryService
from workbench.services.models import ModelService


@pytest.fixture(scope="module")
def info(bundled_model):
    return read_gguf_info(bundled_model)


def test_header_metadata_agrees_with_what_llama_cpp_reports(info, shared_host):
    meta = shared_host.metadata  # from llama.cpp inside the model host
    assert info.architecture == meta.architecture
    assert info.parameter_count == meta.parameter_count
    assert info.quantization == meta.quantization
    assert info.file_size == meta.file_size
    assert info.context_length == meta.context_length
    assert info.n_layers == meta.n_layers
    assert info.vocab_size == meta.vocab_size
    assert info.has_chat_template == bool(meta.chat_template)
    assert info.license == meta.extra["general.license"] == "apache-2.0"
    assert info.organization == meta.extra["general.organization"]
    assert info.name == meta.name


def test_shapes_for_the_memory_estimate(info):
    assert (info.embedding_length, info.head_count, info.head_count_kv) == (576, 9, 3)
    assert info.key_length == info.value_length == 64
    assert info.layer_bytes * info.n_layers + info.other_bytes < info.file_size
    assert info.output_bytes > 0  # tied embeddings: the output head is a copy of token_embd


def test_a_truncated_file_is_refused(bundled_model, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(bundled_model, "rb") as source:
        cut.write_bytes(source.read(50_000_000))
    with pytest.raises(ModelFileError, match="truncated"):
        read_gguf_info(cut)


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        read_gguf_info(bad)


def test_a_split_model_with_a_missing_part_is_refused(bundled_model, tmp_path):
    first = tmp_path / "m-00001-of-00002.gguf"
    os.symlink(bundled_model, first)
    with pytest.raises(ModelFileError, match="m-00002-of-00002.gguf"):
        read_gguf_info(first)


def test_the_cache_answers_from_its_file_and_notices_a_changed_file(bundled_model, tmp_path,
                                                                    monkeypatch):
    from tests.fixtures.tiny_lora import write_lora
    from workbench.library import gguf_metadata

    copy = tmp_path / "copy.gguf"
    shutil.copy(bundled_model, copy)
    cache = MetadataCache(tmp_path / "meta.json")
    first = cache.info(copy)

    def no_reading(path):
        raise AssertionError(f"{path} was read again: the cache did not answer")

    with monkeypatch.context() as patch:  # a new process, same file: no header read at all
        patch.setattr(gguf_metadata, "read_gguf_info", no_reading)
        assert MetadataCache(tmp_path / "meta.json").info(copy) == first
    # Another GGUF in the same place (new content and size): the cache reads it afresh.
    other = write_lora(tmp_path / "other.gguf", strength=1.0)
    os.replace(other, copy)
    changed = cache.info(copy)
    assert changed != first and changed.file_size == os.path.getsize(copy) != first.file_size
    assert MetadataCache(tmp_path / "meta.json").info(copy) == changed  # and stores it
    copy.write_bytes(b"PK\x03\x04 not a model any more")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        cache.info(copy)


def test_library_lists_bundled_added_watched_and_hf_cache_models(bundled_model, tmp_path,
                                                                 monkeypatch):
    hf_cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_cache))
    repo = hf_cache / "models--acme--demo-GGUF"
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / "abc").mkdir(parents=True)
    shutil.copy(bundled_model, repo / "blobs" / "f00d")
    os.symlink("../../blobs/f00d", repo / "snapshots" / "abc" / "demo.Q4_1.gguf")
    watched = tmp_path / "lmstudio" / "acme"
    watched.mkdir(parents=True)
    os.symlink(bundled_model, watched / "other-copy.gguf")  # same file as the bundled one
    (watched / "half.gguf.partial").write_bytes(b"GGUF")
    (watched / "w-00002-of-00002.gguf").write_bytes(b"GGUF")
    shutil.copy(bundled_model, watched / "w-00001-of-00002.gguf")
    added = tmp_path / "elsewhere" / "mine.gguf"
    added.parent.mkdir()
    shutil.copy(bundled_model, added)

    library = LibraryService()
    library.add_file(added)
    library.watch_folder(tmp_path / "lmstudio")
    by_name = {m.name: m for m in library.models(with_metadata=False)}
    assert by_name["smollm2-135m-instruct"].source == "bundled"
    assert by_name["mine"].source == "local"
    assert by_name["w"].source == "watched folder"  # the split model, named without its suffix
    assert by_name["demo.Q4_1"].source == "hf cache" and by_name["demo.Q4_1"].repo == "acme/demo-GGUF"
    assert "other-copy" not in by_name  # the same file as the bundled model is listed once
    assert not any("partial" in n or "00002" in n for n in by_name)
    # The model service (CLI, GUI) knows them by name too.
    assert ModelService().resolve("mine") == added
    assert ModelService().resolve("demo.Q4_1").name == "demo.Q4_1.gguf"  # the link, not the blob
    library.close()


def test_add_refuses_a_damaged_file_and_adds_nothing(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 10)
    library = LibraryService()
    with pytest.raises(ModelFileError):
        library.add_file(bad)
    assert all(m.source == "bundled" for m in library.models(with_metadata=False))
    library.close()


def test_remove_keeps_the_file_unless_asked_and_never_the_bundled_model(bundled_model, tmp_path):
    from workbench.core.library_errors import LibraryError

    models = app_paths().ensure().models
    copy = models / "copy.gguf"
    shutil.copy(bundled_model, copy)
    library = LibraryService()
    listed = {m.name: m for m in library.models(with_metadata=False)}
    library.remove(listed["copy"])
    assert "copy" not in {m.name for m in library.models(with_metadata=False)}
    assert copy.exists()
    again = library.add_file(copy)  # adding it back lists it again
    library.remove(again, delete_file=True)
    assert not copy.exists()
    with pytest.raises(LibraryError, match="bundled model"):
        library.remove(listed["smollm2-135m-instruct"], delete_file=True)
    assert bundled_model.exists()
    library.close()
