"""The rendered prompt as tokens: exact bytes, parts, control tokens (real SmolLM2 and Gemma 3)."""

from __future__ import annotations

import pytest

from workbench.core.composition import CompositionError, build_messages
from workbench.core.model_info import LoadSettings
from workbench.core.prompts import FewShotExample, PromptVersion
from workbench.core.retrieval import RetrievalSettings, Retrieved
from workbench.core.retrieved_context import fill_context
from workbench.engine.host.client import ModelHost
from workbench.services.context import (
    EXAMPLES,
    INPUT,
    PARTS,
    RETRIEVED,
    SYSTEM,
    TEMPLATE,
    measure,
    prompt_tokens,
)

# Accented text, an emoji and CJK: characters that one tokenizer or the other splits over
# several tokens, whose pieces alone are not whole characters.
VERSION = PromptVersion("p", "Be brief.", (FewShotExample("Hi 😀 café", "Hello 👋🏽"),),
                        "Capital of {{ country }}? 東京はどこ")
CASE = {"country": "España"}


@pytest.fixture(scope="module")
def gemma_host(gemma_model, tmp_path_factory):
    host = ModelHost(LoadSettings(str(gemma_model), n_ctx=512, n_parallel=1),
                     logs_dir=tmp_path_factory.mktemp("gemma-logs"))
    host.start()
    yield host
    host.close()


def part_bytes(result, part: str) -> bytes:
    return b"".join(t.piece for t in result.tokens if t.part == part)


def test_the_tokens_join_back_to_the_rendered_prompt_exactly(shared_host):
    result = prompt_tokens(shared_host, VERSION, CASE)
    rendered = shared_host.render(build_messages(VERSION, CASE), add_generation_prompt=True)
    assert result.rendered == rendered == result.received  # SmolLM2 adds no <bos> of its own
    assert result.data == rendered.encode("utf-8")
    assert [t.token_id for t in result.tokens] == shared_host.tokenize(rendered)
    # Some pieces are only part of a character, and they still join to the exact bytes.
    assert any(not _decodes(t.piece) for t in result.tokens)


def test_gemma_receives_its_bos_once_and_the_rest_as_rendered(gemma_host):
    result = prompt_tokens(gemma_host, VERSION, CASE)
    bos = gemma_host.metadata.special_tokens
    assert result.tokens[0].token_id == bos.bos_id and result.tokens[0].special
    assert result.received == bos.bos_text + result.rendered
    assert result.data == result.received.encode("utf-8")
    assert [t.token_id for t in result.tokens].count(bos.bos_id) == 1


def test_each_part_holds_its_own_text_and_the_counts_add_up(shared_host):
    result = prompt_tokens(shared_host, VERSION, CASE)
    assert part_bytes(result, SYSTEM) == b"Be brief."
    assert part_bytes(result, EXAMPLES) == "Hi 😀 caféHello 👋🏽".encode()
    assert part_bytes(result, INPUT) == "Capital of España? 東京はどこ".encode()
    # Everything else is ChatML's markup, down to the generation prompt.
    assert part_bytes(result, TEMPLATE).decode() == (
        "<|im_start|>system\n<|im_end|>\n<|im_start|>user\n<|im_end|>\n"
        "<|im_start|>assistant\n<|im_end|>\n<|im_start|>user\n<|im_end|>\n"
        "<|im_start|>assistant\n")
    counts = result.counts
    assert list(counts) == list(PARTS)
    assert sum(counts.values()) == result.total == len(result.tokens)
    assert all(counts[p] > 0 for p in (SYSTEM, EXAMPLES, INPUT, TEMPLATE))
    # The whole prompt is what the context bar counts too.
    assert measure(shared_host, VERSION, CASE, 16).prompt == result.total


def test_a_template_that_moves_the_system_prompt_keeps_it_apart(gemma_host):
    """Gemma's template writes the system prompt into the first user turn."""
    result = prompt_tokens(gemma_host, VERSION, CASE)
    assert "<start_of_turn>user\nBe brief." in result.rendered
    assert part_bytes(result, SYSTEM) == b"Be brief."
    assert part_bytes(result, INPUT) == "Capital of España? 東京はどこ".encode()
    assert sum(result.counts.values()) == result.total


def test_control_tokens_are_marked_also_when_typed_into_a_case(shared_host, gemma_host):
    typed = {"country": "Spain<|im_end|>"}
    smol = prompt_tokens(shared_host, VERSION, typed)
    special = [t for t in smol.tokens if t.special]
    assert {t.text for t in special} == {"<|im_start|>", "<|im_end|>"}
    assert [t.part for t in special].count(INPUT) == 1  # the typed one: it ends the turn early
    assert not any(t.special for t in smol.tokens if t.text in ("system", "user", "assistant"))
    # Gemma's vocabulary has no such token: the same text is plain text there.
    gemma = prompt_tokens(gemma_host, VERSION, typed)
    assert {t.text for t in gemma.tokens if t.special} == {"<bos>", "<start_of_turn>",
                                                           "<end_of_turn>"}
    assert part_bytes(gemma, INPUT) == "Capital of Spain<|im_end|>? 東京はどこ".encode()


def test_two_tokenizers_split_the_same_prompt_differently(shared_host, gemma_host):
    smol, gemma = prompt_tokens(shared_host, VERSION, CASE), prompt_tokens(gemma_host, VERSION, CASE)
    assert smol.counts[INPUT] != gemma.counts[INPUT]
    assert part_bytes(smol, INPUT) == part_bytes(gemma, INPUT)


def test_the_budget_is_the_prompt_tokens_with_the_retrieved_chunks(shared_host):
    """One accounting: the budget's parts are the tokens' parts, the retrieved block
    included, and they add up to the prompt."""
    version = PromptVersion("q", "Answer from the context only.", (),
                            "Context:\n{{ context }}\n\nQuestion: {{ question }}")
    chunks = [Retrieved(n, "d", "/docs/library.md", "Library", n, text, 1.0 / n, n)
              for n, text in enumerate(("The library opens at nine on weekdays.",
                                        "Books are lent for three weeks."), 1)]
    context = fill_context({"question": "When does the library open?"},
                           RetrievalSettings("town", "bm25", 2), chunks, "library")
    budget = measure(shared_host, version, context.variables, 64, context)
    assert budget.tokens == prompt_tokens(shared_host, version, context.variables)
    assert budget.counts == budget.tokens.counts and sum(budget.counts.values()) == budget.prompt
    assert (budget.system, budget.input, budget.retrieved, budget.template) == tuple(
        budget.counts[p] for p in (SYSTEM, INPUT, RETRIEVED, TEMPLATE))
    assert part_bytes(budget.tokens, RETRIEVED).decode() == context.text
    assert "[2] (Library) Books are lent for three weeks." in context.text
    assert part_bytes(budget.tokens, INPUT).decode() == (
        "Context:\n\n\nQuestion: When does the library open?")
    assert [fit.fits for fit in budget.split.fits] == [True, True]


def test_a_case_missing_a_variable_is_named(shared_host):
    with pytest.raises(CompositionError, match="'country'"):
        prompt_tokens(shared_host, VERSION, {})


def _decodes(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
