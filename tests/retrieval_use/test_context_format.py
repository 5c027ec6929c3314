"""The {{ context }} block: its text, the query a case searches with, the budget split."""

from __future__ import annotations

import pytest

from workbench.core.composition import CompositionError, build_messages
from workbench.core.prompts import PromptVersion
from workbench.core.retrieval import RetrievalSettings, Retrieved
from workbench.core.retrieved_context import (
    case_query,
    compose,
    fill_context,
    format_context,
    gold_sources,
    split_budget,
)


def hit(number: int, text: str, source: str = "/d/handbook.md", position: int = 0) -> Retrieved:
    return Retrieved(number, "doc", source, "handbook.md", position, text, 1.0, number)


def test_chunks_are_numbered_with_their_source():
    text = format_context([hit(1, " Shifts start at 22:00.\n"), hit(2, "Badges always.")])
    assert text == "[1] (handbook.md) Shifts start at 22:00.\n\n[2] (handbook.md) Badges always."


@pytest.mark.parametrize("variables, query", [
    ({"input": "i", "question": "q", "query": "the query"}, "the query"),
    ({"input": "i", "question": "the question"}, "the question"),
    ({"topic": "x", "input": "the input"}, "the input"),
    ({"context": "own", "gold_sources": "a.md", "topic": "first value"}, "first value"),
    ({}, ""),
])
def test_the_query_of_a_case(variables, query):
    assert case_query(variables) == query


def test_gold_sources_from_either_variable():
    assert gold_sources({"gold_sources": "a.md, b.md"}) == ("a.md", "b.md")
    assert gold_sources({"__gold_sources": "handbook.md"}) == ("handbook.md",)
    assert gold_sources({"input": "x"}) == ()


def test_fill_context_retrieved_own_and_none():
    version = PromptVersion("p", "", (), "Context:\n{{ context }}\nQ: {{ question }}")
    chunks = [hit(1, "Shifts start at 22:00.")]
    bm25 = RetrievalSettings("handbook", "bm25", 4)
    filled = fill_context({"question": "When?", "context": ""}, bm25, chunks, "When?")
    assert filled.retrieved and filled.variables["context"] == filled.text
    assert "[1] (handbook.md) Shifts start at 22:00." in compose(version, filled.variables)[-1].content
    own = fill_context({"question": "When?", "context": "my own"}, bm25, chunks)
    assert own.own and own.chunks == () and own.variables["context"] == "my own"
    none = fill_context({"question": "When?"}, RetrievalSettings(), chunks)
    assert none.chunks == () and none.variables["context"] == ""
    assert compose(version, none.variables)[-1].content == "Context:\n\nQ: When?"
    # Without retrieval an empty context renders empty, as promptfoo renders an empty
    # variable; one the case never defines is still a slip.
    assert build_messages(version, none.variables)[-1].content == "Context:\n\nQ: When?"
    with pytest.raises(CompositionError, match="context"):
        build_messages(version, {"question": "When?"})


def test_budget_split_names_chunks_that_do_not_fit():
    chunks = [hit(i, f"chunk {i}", position=i + 2) for i in range(1, 5)]
    split = split_budget(chunks, [300, 300, 300, 312], prompt_tokens=1000 + 1212, n_ctx=2048)
    assert [f.fits for f in split.fits] == [True, True, True, False]
    assert split.notes() == ["chunk 7 of handbook.md (312 tokens) does not fit: 1,900 of "
                             "2,048 tokens used"]
    after = split_budget(chunks, [300, 900, 10, 10], prompt_tokens=2220, n_ctx=2048)
    assert [f.fits for f in after.fits] == [True, False, False, False]  # none after it either
    roomy = split_budget(chunks, [10] * 4, prompt_tokens=100, n_ctx=2048, answer=256)
    assert roomy.notes() == []
    tight = split_budget(chunks[:1], [10], prompt_tokens=1800, n_ctx=2048, answer=256)
    assert tight.notes() == ["chunk 4 of handbook.md (10 tokens) does not fit: 1,790 of 2,048 "
                             "tokens used, 256 kept for the answer"]
