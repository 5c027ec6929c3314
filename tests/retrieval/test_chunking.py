"""Chunk boundaries index the document's text exactly; the tokens strategy keeps to its size
and overlap in the model's own tokens."""

from __future__ import annotations

import pytest

from tests.retrieval.conftest import CORPUS, corpus_files
from workbench.core.retrieval import ChunkingSpec
from workbench.services.retrieval.chunking import Chunker, sections, token_spans
from workbench.services.retrieval.embedder import DEFAULT_MODEL


@pytest.fixture(scope="module")
def tokenizer(lab):
    return lab.service.embedders.host(lab.service.embedders.resolve(DEFAULT_MODEL))


@pytest.fixture(scope="module")
def texts():
    documents = {p.name: p.read_text() for p in corpus_files() if p.suffix != ".html"}
    documents["unicode.md"] = ("# Café déjà vu\n\nNaïve façades — “quoted” ünïcödé, emoji 🚋🚋 "
                               "and CJK 東京 text.\n\n## Second\n\nMore text here. " * 6)
    return documents


@pytest.mark.parametrize("strategy", ["tokens", "headings", "sentences", "paragraphs"])
def test_every_chunk_is_the_text_between_its_offsets(tokenizer, texts, strategy):
    chunker = Chunker(ChunkingSpec(strategy, 40, 8), tokenizer)
    for name, text in texts.items():
        chunks = chunker.chunk("d", text)
        assert chunks, name
        for position, chunk in enumerate(chunks):
            assert text[chunk.start:chunk.end] == chunk.text, (name, position)
            assert chunk.position == position and chunk.text.strip() == chunk.text
        assert all(a.start <= b.start for a, b in zip(chunks, chunks[1:]))
        # Nothing of the text is lost: every word is in some chunk.
        covered = set()
        for chunk in chunks:
            covered.update(range(chunk.start, chunk.end))
        assert all(i in covered for i, c in enumerate(text) if not c.isspace()), (name, strategy)


def test_token_spans_follow_the_models_own_tokens(tokenizer, texts):
    text = texts["unicode.md"]
    spans = token_spans(tokenizer, text)
    ids = tokenizer.tokenize(text, add_special=False, parse_special=False)
    assert len(spans) == len(ids) and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, no gaps


def test_tokens_strategy_respects_size_and_overlap(tokenizer, texts):
    size, overlap = 48, 12
    text = texts["water-utility.md"]
    chunks = Chunker(ChunkingSpec("tokens", size, overlap), tokenizer).chunk("d", text)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.tokens <= size
        assert len(tokenizer.tokenize(chunk.text, add_special=False)) <= size + 1
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # neighbours overlap …
        shared = len(tokenizer.tokenize(text[b.start:a.end], add_special=False))
        assert overlap - 2 <= shared <= overlap + 1  # … by `overlap` tokens (± a space token)
    assert all(size - 2 <= c.tokens for c in chunks[:-1])  # edges trimmed of whitespace


def test_headings_cut_at_markdown_sections(tokenizer):
    text = (CORPUS / "water-utility.md").read_text()
    chunks = Chunker(ChunkingSpec("headings", 512, 0), tokenizer).chunk("d", text)
    assert [c.text.splitlines()[0] for c in chunks] == [
        "# Quillhaven Water Board", "## Bills", "## Leaks"]
    fenced = "# A\ntext\n```\n# not a heading\n```\n# B\nmore"
    assert [fenced[s:e].splitlines()[0] for s, e in sections(fenced)] == ["# A", "# B"]
