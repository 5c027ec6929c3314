"""A document chunked a part at a time gets exactly the chunks of the whole text at once
(offsets, texts, token counts): windows of the text tokenized in the model host and stitched,
units found and packed as the parts come in."""

from __future__ import annotations

import random

import pytest

from workbench.core.retrieval import ChunkingSpec
from workbench.services.retrieval import chunk_stream
from workbench.services.retrieval.chunk_stream import ChunkStream
from workbench.services.retrieval.chunking import Chunker
from workbench.services.retrieval.embedder import DEFAULT_MODEL
from workbench.services.retrieval.readers import BLOCK

WORDS = "tram ferry harbour lantern festival reservoir café déjà 東京 🚋 naïve quay".split()
MARKS = [". ", "! ", '?" ', "\n", "\n\n", "  \n \n", "...", "\r\n", "(see below). "]


def document(chars: int, seed: int = 4) -> str:
    """Markdown with everything the unit finders look at: headings, code fences (one left
    open near the end), sentences, paragraphs, blank runs, non-ASCII text, a "word" longer
    than two windows' overlap, a sentence longer than a chunk."""
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < chars:
        roll = rng.random()
        if roll < 0.02:
            piece = f"\n\n{'#' * rng.randint(1, 4)} Heading {rng.randint(1, 999)}\n\n"
        elif roll < 0.025:
            piece = "\n```\n# not a heading\n```\n"
        elif roll < 0.02503:  # about once in 200,000 characters
            piece = "x" * 9000 + " "
        elif roll < 0.0253:
            piece = " ".join(rng.choice(WORDS) for _ in range(600)) + ". "
        elif roll < 0.09:
            piece = rng.choice(MARKS)
        else:
            piece = rng.choice(WORDS) + " "
        out.append(piece)
        size += len(piece)
    out.append("\n```\n# after an open fence\n\nwords " * 3)
    return "".join(out)


@pytest.fixture(scope="module")
def tokenizer(lab):
    return lab.service.embedders.host(lab.service.embedders.resolve(DEFAULT_MODEL))


def streamed(spec: ChunkingSpec, tokenizer, text: str, part: int) -> tuple[list, ChunkStream]:
    stream = ChunkStream(spec, tokenizer, "d")
    chunks = []
    for start in range(0, len(text), part):
        chunks += stream.feed(text[start:start + part])
    return chunks + stream.finish(), stream


@pytest.mark.parametrize("strategy", ["tokens", "headings", "sentences", "paragraphs"])
def test_a_text_chunked_in_parts_gets_the_chunks_of_the_whole_text(tokenizer, monkeypatch,
                                                                   strategy):
    # Small windows, so that this text spans dozens of them (and the long word more than one).
    monkeypatch.setattr(chunk_stream, "WINDOW", 4096)
    monkeypatch.setattr(chunk_stream, "OVERLAP", 1024)
    text = document(150_000) + "x" * 9000 + document(50_000, seed=5)
    for spec in (ChunkingSpec(strategy, 40, 8), ChunkingSpec(strategy, 256, 32)):
        whole = Chunker(spec, tokenizer).chunk("d", text)
        assert len(whole) > 100
        for part in (997, 65_536, len(text)):
            chunks, stream = streamed(spec, tokenizer, text, part)
            assert chunks == whole, (spec, part)
            assert stream.forced == 0


def test_a_text_of_several_parts_at_the_real_sizes_gets_the_same_chunks(tokenizer):
    """The reader's parts (BLOCK characters) and the real windows, on a text over two parts
    long: what ``docs add`` does with a large file."""
    text = document(2 * BLOCK + 300_000, seed=9)
    spec = ChunkingSpec()  # what a new set uses
    whole = Chunker(spec, tokenizer).chunk("d", text)
    chunks, stream = streamed(spec, tokenizer, text, BLOCK)
    assert chunks == whole and stream.forced == 0
    assert len(text) > 2 * BLOCK and len(chunks) > 1000


def test_the_stream_keeps_only_a_window_of_the_text(tokenizer):
    text = document(3 * BLOCK, seed=11)
    stream = ChunkStream(ChunkingSpec("paragraphs", 128, 16), tokenizer, "d")
    held = []
    for start in range(0, len(text) - BLOCK, BLOCK // 4):
        stream.feed(text[start:start + BLOCK // 4])
        held.append((len(stream.text.text), len(stream.tokens.starts)))
    # Never more than a part and a window of text, nor the tokens of more than that.
    assert max(h[0] for h in held) < BLOCK // 4 + 2 * chunk_stream.WINDOW
    assert max(h[1] for h in held) < BLOCK // 4 + 2 * chunk_stream.WINDOW


def test_re_chunking_reads_the_stored_text_a_part_at_a_time(lab, tokenizer, tmp_path):
    path = tmp_path / "long.md"
    path.write_text(document(BLOCK + 200_000, seed=3), encoding="utf-8")
    lab.service.create_set("rechunked", chunking=ChunkingSpec("tokens", 128, 16))
    lab.service.add("rechunked", [path])
    (stored,) = lab.service.documents("rechunked")
    text = lab.service.document_text(stored.id)  # \r\n read as \n
    with lab.store.db.engine.connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT count(*) FROM document_parts WHERE document_id = ?", (stored.id,)
        ).scalar() == 2
    spec = ChunkingSpec("paragraphs", 200, 0)
    report = lab.service.set_chunking("rechunked", spec)
    assert (report.updated, report.chunks) == (1, len(lab.service.chunks("rechunked")))

    def cuts(chunks):
        return [(c.position, c.text, c.start, c.end, c.tokens) for c in chunks]

    assert cuts(lab.service.chunks("rechunked", stored.id)) == cuts(
        Chunker(spec, tokenizer).chunk(stored.id, text))
    assert lab.service.document_text(stored.id) == text
    # A document stored before revision 0007 has its text in documents.text, and no parts.
    with lab.store.db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM document_parts WHERE document_id = ?",
                                   (stored.id,))
        connection.exec_driver_sql("UPDATE documents SET text = ? WHERE id = ?",
                                   (text, stored.id))
    spec = ChunkingSpec("sentences", 64, 0)
    lab.service.set_chunking("rechunked", spec)
    assert cuts(lab.service.chunks("rechunked", stored.id)) == cuts(
        Chunker(spec, tokenizer).chunk(stored.id, text))
