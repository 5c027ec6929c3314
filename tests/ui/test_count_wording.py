"""The window's counts say "1 token", "1 chunk", "1 cell" for one and the plural otherwise, and
the first divergence of two outputs that differ from their first token says so plainly."""

from __future__ import annotations

from workbench.core.retrieval import ChunkView, RetrievalSettings, Retrieved
from workbench.core.runs import RunStatus
from workbench.core.tokens import Divergence
from workbench.services.sent_prompt import SentPrompt
from workbench.ui.compare.diff_view import divergence_html, divergence_sentence
from workbench.ui.compare.grid_labels import run_line
from workbench.ui.compare.prompt_dialog import heading
from workbench.ui.retrieval.chunk_view import describe_chunk


def test_outputs_that_differ_from_the_first_token_are_said_to():
    text = divergence_html(Divergence(0, 0, None, None, True), "a", "b")
    assert "they differ from the first token on (token 0)." in text
    assert "same 0" not in text


def test_a_shared_prefix_is_counted_in_the_singular_for_one():
    assert divergence_sentence(Divergence(1, 1, None, None, True)) == (
        "both start with the same 1 token; they first differ at token 1.")
    assert divergence_sentence(Divergence(4, 4, None, None, False)) == (
        "both start with the same 4 characters; they first differ at character 4.")
    assert divergence_sentence(Divergence(1, None, None, None, True)) == (
        "none — the two outputs are identical, 1 token.")


def test_the_prompt_sent_heading_counts_one_token_and_one_chunk():
    chunk = Retrieved(1, "d", "/docs/a.md", "A", 0, "text", 1.0, 1)
    prompt = SentPrompt("v", (), "", "", 1, RetrievalSettings("set", "bm25", 1), (chunk,))
    assert heading(prompt) == "v · 1 prompt token · 1 chunk from 'set' (bm25, k=1)"


def test_a_chunk_of_one_token_and_a_run_of_one_cell():
    assert describe_chunk(ChunkView(1, "d", 0, "x", 0, 1, 1), 1).startswith(
        "Chunk 1 of 1 · 1 token · ")
    assert run_line(RunStatus.DONE, [("v", "c")], {}) == "Run done — 0 of 1 cell done"
