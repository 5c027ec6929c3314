"""From chat examples to the token rows the trainer sees, exactly as the model will see them.

Each example is rendered with the base model's own chat template and tokenized by the model's
own tokenizer (llama.cpp's, for a GGUF base: the same one that runs the adapter later). Only the
assistant's turns are trained on: the text each turn adds to the rendering, its end-of-turn
marker included, so the tuned model also learns where to stop. The prompt part is tokenized
apart from the answer, as at inference, where the answer's tokens follow the prompt's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..core.messages import ChatMessage
from ..core.records import RowProblem
from ..core.tuning_errors import DatasetError
from ..core.wording import counted
from .formats import Example


class ChatTokenizer(Protocol):
    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str: ...
    def tokenize(self, text: str, add_special: bool) -> list[int]: ...


@dataclass(frozen=True)
class TokenRow:
    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # [start, end) token ranges trained on
    text: str  # the rendered conversation, as the model sees it
    prompt_text: str  # the part before the first trained span
    source: str = ""
    line: int = 0
    truncated: bool = False

    def to_wire(self) -> dict:
        return {"ids": list(self.ids), "spans": [list(s) for s in self.spans]}


@dataclass
class Prepared:
    rows: list[TokenRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def lengths(self) -> list[int]:
        return [len(r.ids) for r in self.rows]


def segments(tokenizer: ChatTokenizer, messages: Sequence[ChatMessage]) -> list[tuple[str, bool]]:
    """(text, trained) pieces whose concatenation is the whole rendered conversation.

    Relies on each rendering being a prefix of the next, true of ordinary chat templates; a
    template that rewrites earlier turns falls back to training on the last answer only.
    """
    full = tokenizer.render(messages, add_generation_prompt=False)
    pieces: list[tuple[str, bool]] = []
    done = 0
    for index, message in enumerate(messages):
        if message.role != "assistant":
            continue
        before = tokenizer.render(messages[:index], add_generation_prompt=True)
        after = tokenizer.render(messages[: index + 1], add_generation_prompt=False)
        if not (full.startswith(after) and after.startswith(before) and len(before) >= done):
            prompt = tokenizer.render(messages[:-1], add_generation_prompt=True)
            if not full.startswith(prompt):
                raise ValueError("the chat template renders the answer apart from its prompt")
            return [(prompt, False), (full[len(prompt):], True)]
        pieces += [(full[done:len(before)], False), (full[len(before):len(after)], True)]
        done = len(after)
    if done < len(full):
        pieces.append((full[done:], False))
    return [(text, trained) for text, trained in pieces if text]


def tokenize_example(tokenizer: ChatTokenizer, example: Example, max_length: int) -> TokenRow:
    """A token row, cut to ``max_length``; ValueError (the reason) if nothing is left to train."""
    ids: list[int] = []
    spans: list[tuple[int, int]] = []
    pieces = segments(tokenizer, example.messages)
    for text, trained in pieces:
        piece = tokenizer.tokenize(text, add_special=not ids)
        if trained:
            spans.append((len(ids), len(ids) + len(piece)))
        ids += piece
    first = spans[0][0] if spans else len(ids)
    if first >= max_length:
        raise ValueError(f"the prompt is {counted(first, 'token')}, longer than the max length "
                         f"({max_length}); raise max length or shorten the prompt")
    truncated = len(ids) > max_length
    if truncated:
        ids = ids[:max_length]
        spans = [(s, min(e, max_length)) for s, e in spans if s < max_length]
    prompt_text = "".join(t for t, trained in pieces[:1] if not trained)
    return TokenRow(tuple(ids), tuple(spans), "".join(t for t, _ in pieces), prompt_text,
                    example.source, example.line, truncated)


def prepare(tokenizer: ChatTokenizer, examples: Sequence[Example], max_length: int) -> Prepared:
    result = Prepared()
    for example in examples:
        try:
            result.rows.append(tokenize_example(tokenizer, example, max_length))
        except ValueError as error:
            result.problems.append(RowProblem(example.line, str(error), example.source))
    return result


def require_rows(prepared: Prepared, imported_count: int, max_length: int) -> None:
    """Refuse data that leaves nothing to train on, saying why."""
    if imported_count == 0 and not prepared.problems:
        raise DatasetError("The dataset is empty: add examples or choose another file.")
    if prepared.rows:
        return
    too_long = [p for p in prepared.problems if "longer than the max length" in p.reason]
    if too_long and len(too_long) == imported_count:
        raise DatasetError(f"No example fits: every prompt is longer than the max length "
                           f"({max_length} tokens). Raise max length or shorten the prompts.")
    raise DatasetError(f"The dataset has no valid rows ({len(prepared.problems)} problems; "
                       f"first: {prepared.problems[0]}).")


def split(rows: Sequence[TokenRow], fraction: float, seed: int) -> tuple[list, list]:
    """(train, validation): a seeded shuffle; none held out below 5 rows, at least 1 above."""
    rows = list(rows)
    if fraction <= 0 or len(rows) < 5:
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = min(len(rows) - 1, max(1, round(len(rows) * fraction)))
    held = set(order[:n_val])
    return ([r for i, r in enumerate(rows) if i not in held],
            [r for i, r in enumerate(rows) if i in held])


@dataclass(frozen=True)
class Histogram:
    edges: tuple[int, ...]  # len(counts) + 1 bin edges, in tokens
    counts: tuple[int, ...]
    max_length: int
    over: int  # rows cut to max_length


def length_histogram(lengths: Sequence[int], max_length: int, bins: int = 16,
                     truncated: int = 0) -> Histogram:
    top = max([max_length, *lengths]) if lengths else max_length
    width = max(1, -(-top // bins))
    counts = [0] * bins
    for length in lengths:
        counts[min(bins - 1, length // width)] += 1
    return Histogram(tuple(range(0, width * bins + 1, width)), tuple(counts), max_length,
                     truncated)
