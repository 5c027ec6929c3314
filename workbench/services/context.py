"""How a prompt fills the model's context window, part by part.

One accounting for every view (the composer's budget bar, its Tokens tab, the CLI): the
prompt is the chat template's rendering as the model tokenizes it, and each of its tokens
belongs to exactly one part — the system prompt's text, the examples', the case's input, the
retrieved ``{{ context }}`` block, or the template's own markup (role tags, line breaks, the
<bos> the tokenizer adds). The parts therefore add up to the prompt's token count, and
``measure`` computes them once, from the same tokens the Tokens tab draws.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import cached_property

from ..core.composition import example_messages, system_messages
from ..core.errors import WorkbenchError
from ..core.messages import ChatMessage
from ..core.prompts import PromptVersion
from ..core.retrieved_context import (
    CHUNK_SEPARATOR,
    CONTEXT_VARIABLE,
    BudgetSplit,
    CaseContext,
    compose,
    format_chunk,
    split_budget,
)
from ..core.wording import counted
from ..engine.protocol import TextModel

SYSTEM, EXAMPLES, INPUT, RETRIEVED, TEMPLATE = "system", "examples", "input", "retrieved", "template"
PARTS = (SYSTEM, EXAMPLES, INPUT, RETRIEVED, TEMPLATE)  # display order
# What each part of the accounting is: the one explanation every breakdown's tooltip shows.
PART_MEANINGS = {
    SYSTEM: "the system prompt's text",
    EXAMPLES: "the few-shot examples' questions and answers",
    INPUT: "the selected case's user message, the user template filled in (without the "
           "retrieved chunks)",
    RETRIEVED: "the {{ context }} block: the chunks retrieval put in the user message",
    TEMPLATE: "the chat template's own markup around the messages (role tags such as "
              "<|im_start|>, line breaks) and the tokens the tokenizer adds (<bos>)",
}


def parts_explained() -> str:
    """One line per part, and how they add up: the tooltip of every breakdown."""
    lines = [f"{part}: {meaning}" for part, meaning in PART_MEANINGS.items()]
    return ("Every token of the prompt the model receives counts for exactly one part, so "
            "the parts add up to the prompt's tokens.\n" + "\n".join(lines))


@dataclass(frozen=True)
class ContextBudget:
    """The prompt for one case against the context window; its parts are its tokens' parts."""

    tokens: PromptTokens  # the prompt exactly as the model receives it
    answer: int  # tokens reserved for the answer (max_tokens)
    n_ctx: int
    # Retrieved chunks that do not fit the window: named, kept in the prompt (see
    # core/retrieved_context.py).
    split: BudgetSplit = field(default_factory=BudgetSplit)

    @property
    def rendered(self) -> str:
        """The exact text the chat template wrote."""
        return self.tokens.rendered

    @property
    def counts(self) -> dict[str, int]:
        return self.tokens.counts

    @property
    def system(self) -> int:
        return self.counts[SYSTEM]

    @property
    def examples(self) -> int:
        return self.counts[EXAMPLES]

    @property
    def input(self) -> int:
        return self.counts[INPUT]

    @property
    def retrieved(self) -> int:
        return self.counts[RETRIEVED]

    @property
    def template(self) -> int:
        return self.counts[TEMPLATE]

    @property
    def prompt(self) -> int:
        return self.tokens.total

    @property
    def room_left(self) -> int:
        return self.n_ctx - self.prompt - self.answer

    @property
    def fits(self) -> bool:
        return self.prompt < self.n_ctx

    @property
    def warning(self) -> str | None:
        if not self.fits:
            return (f"The prompt is {counted(self.prompt, 'token')}; the context window holds "
                    f"{self.n_ctx:,}. Remove examples or shorten the input"
                    f"{' or retrieve fewer chunks' if self.retrieved else ''}.")
        if self.room_left < 0:
            left = max(0, self.n_ctx - self.prompt)
            return (f"Only {counted(left, 'token')} {'is' if left == 1 else 'are'} left for "
                    f"the answer (max tokens is {self.answer:,}): the answer will be cut short.")
        return None


def measure(model: TextModel, version: PromptVersion, variables: dict[str, str],
            max_tokens: int, context: CaseContext | None = None) -> ContextBudget:
    """The prompt for one case as ``model`` receives it, counted part by part.

    ``context``: the case's retrieved chunks (its ``variables`` are then
    ``context.variables``): the prompt holds them, and the chunks that do not fit the window
    are named. The counts are those of ``prompt_tokens``, so the Tokens tab and the budget
    bar show one prompt.
    """
    if context is not None:
        variables = context.variables
    tokens = prompt_tokens(model, version, variables)
    n_ctx = model.metadata.n_ctx
    split = BudgetSplit()
    if context is not None and context.chunks:
        def plain(text: str) -> int:
            return len(model.tokenize(text, add_special=False, parse_special=False))

        # Each chunk with the separator before it: the pieces add up to the block.
        sizes = [plain(format_chunk(n, chunk)) + (plain(CHUNK_SEPARATOR) if n > 1 else 0)
                 for n, chunk in enumerate(context.chunks, 1)]
        split = split_budget(context.chunks, sizes, tokens.total, n_ctx, max_tokens)
    return ContextBudget(tokens, max_tokens, n_ctx, split)


# -- the prompt as tokens ------------------------------------------------------------------

# Stands in for a message's content when the template is rendered a second time: where the
# markers land is where the template put each message, whatever markup it adds around it.
# Private-use characters: no prompt or template writes them.
_OPEN, _CLOSE = "\ue000", "\ue001"


@dataclass(frozen=True)
class PromptToken:
    token_id: int
    piece: bytes  # the token's exact bytes (special tokens as their text)
    part: str  # one of PARTS: whose text the token carries; TEMPLATE for the template's markup
    special: bool  # a control token (<|im_start|>, <bos>): one token, never split text

    @property
    def text(self) -> str:
        return self.piece.decode("utf-8", "replace")


@dataclass(frozen=True)
class PromptTokens:
    """The prompt exactly as one model receives it, token by token."""

    tokens: tuple[PromptToken, ...]
    rendered: str  # what the chat template wrote
    received: str  # what the tokenizer was given, with the tokens it adds itself (<bos>)
    model: str  # the model's name

    @property
    def data(self) -> bytes:
        return b"".join(t.piece for t in self.tokens)

    @property
    def total(self) -> int:
        return len(self.tokens)

    @cached_property
    def counts(self) -> dict[str, int]:
        """Tokens per part, every part listed (in PARTS order), so the counts add up (the
        one accounting: see the module's docstring)."""
        counts = dict.fromkeys(PARTS, 0)
        for token in self.tokens:
            counts[token.part] += 1
        return counts

    @property
    def specials(self) -> int:
        return sum(t.special for t in self.tokens)


def _labelled_messages(version: PromptVersion,
                       variables: dict[str, str]) -> list[tuple[str, ChatMessage]]:
    """The messages of ``build_messages`` with the part each belongs to.

    Retrieved text gets its own label once composition adds it as a message of its own."""
    system, examples = system_messages(version), example_messages(version)
    everything = compose(version, variables)
    labels = [SYSTEM] * len(system) + [EXAMPLES] * len(examples)
    labels += [INPUT] * (len(everything) - len(labels))
    return list(zip(labels, everything))


def _part_spans(model: TextModel, labelled: list[tuple[str, ChatMessage]],
                rendered: str) -> list[tuple[int, int, str]]:
    """(start, end, part) character spans of each message's content in ``rendered``.

    The template is rendered again with a numbered marker for each content; the text between
    markers is the template's own. Templates that trim contents are matched by trying the
    trimmed text; a template that changes contents some other way (or drops one) falls back
    to finding each content in order."""
    markers = [ChatMessage(m.role, f"{_OPEN}{i}{_CLOSE}") for i, (_, m) in enumerate(labelled)]
    try:
        skeleton = model.render(markers, add_generation_prompt=True)
    except WorkbenchError:
        skeleton = ""
    pieces = skeleton.split(_OPEN)
    if len(pieces) == len(labelled) + 1:
        for shape in (lambda s: s, str.strip):
            spans, text = [], [pieces[0]]
            for piece in pieces[1:]:
                number, _, after = piece.partition(_CLOSE)
                part, message = labelled[int(number)]
                start = sum(map(len, text))
                content = shape(message.content)
                spans.append((start, start + len(content), part))
                text += [content, after]
            if "".join(text) == rendered:
                return spans
    spans, cursor = [], 0
    for part, message in labelled:
        content = message.content.strip()
        start = rendered.find(content, cursor) if content else -1
        if start >= 0:
            spans.append((start, start + len(content), part))
            cursor = start + len(content)
    return spans


def _retrieved_spans(text: str, spans: list[tuple[int, int, str]],
                     block: str) -> list[tuple[int, int, str]]:
    """The {{ context }} block inside the user message: its own part (later spans win)."""
    if not block.strip():
        return []
    found = []
    for start, end, part in spans:
        at = text.find(block, start, end) if part == INPUT else -1
        if at >= 0:
            found.append((at, at + len(block), RETRIEVED))
    return found


def _byte_parts(text: str, spans: list[tuple[int, int, str]]) -> list[str]:
    """The part of every byte of ``text``'s UTF-8 (TEMPLATE outside the contents)."""
    owners = [TEMPLATE] * len(text)
    for start, end, part in spans:
        owners[start:end] = [part] * (end - start)
    return [owner for char, owner in zip(text, owners) for _ in char.encode("utf-8")]


def _special_ids(model: TextModel, text: str, ids: list[int],
                 pieces: dict[int, bytes], added: set[int]) -> set[int]:
    """Control tokens among ``ids``: tokens that reading the text as plain text never
    produces and whose own text reads as that one token only when specials are parsed."""
    plain = set(model.tokenize(text, add_special=False, parse_special=False))
    special = set(added)
    for token in {t for t in ids if t not in plain and t not in added}:
        piece = pieces[token].decode("utf-8", "replace")
        if (model.tokenize(piece, add_special=False, parse_special=True) == [token]
                and model.tokenize(piece, add_special=False, parse_special=False) != [token]):
            special.add(token)
    return special


def prompt_tokens(model: TextModel, version: PromptVersion,
                  variables: dict[str, str]) -> PromptTokens:
    """The prompt for one case, as ``model`` receives it: each token's id, exact bytes, part
    and whether it is a control token.

    The text is the chat template's rendering, tokenized as generation does it (a template
    that writes <bos> itself loses it when the tokenizer adds one, so it is not doubled)."""
    labelled = _labelled_messages(version, variables)
    messages = [message for _, message in labelled]
    rendered = model.render(messages, add_generation_prompt=True)
    added_ids = model.tokenize("", add_special=True, parse_special=True)
    bos = model.metadata.special_tokens.bos_text if model.metadata else ""
    fed = rendered[len(bos):] if bos and added_ids and rendered.startswith(bos) else rendered
    spans = _part_spans(model, labelled, rendered)
    shift = len(rendered) - len(fed)
    spans = [(start - shift, end - shift, part) for start, end, part in spans if start >= shift]
    spans += _retrieved_spans(fed, spans, str(variables.get(CONTEXT_VARIABLE) or ""))
    ids = model.tokenize(fed, add_special=True, parse_special=True)
    pieces = model.pieces(ids)
    by_id = dict(zip(ids, pieces))
    added = len(added_ids) if ids[:len(added_ids)] == added_ids else 0
    special = _special_ids(model, fed, ids, by_id, set(ids[:added]))

    owners = _byte_parts(fed, spans)
    offset, tokens = -sum(len(p) for p in pieces[:added]), []
    for token, piece in zip(ids, pieces):
        start, offset = max(offset, 0), offset + len(piece)
        inside = owners[start:max(offset, 0)]
        content = [owner for owner in inside if owner != TEMPLATE]
        # A token that carries any of a part's text counts for the part with most bytes in it.
        part = max(PARTS, key=content.count) if content else TEMPLATE
        tokens.append(PromptToken(token, piece, part, token in special))
    received = b"".join(pieces[:added]).decode("utf-8", "replace") + fed
    return PromptTokens(tuple(tokens), rendered, received, _model_name(model))


def _model_name(model: TextModel) -> str:
    """The model's one name, the library's (not the GGUF's own general.name)."""
    return _library_name(str(model.metadata.path)) if model.metadata else ""


@functools.lru_cache(maxsize=16)
def _library_name(path: str) -> str:
    # Measuring runs at every pause in typing; listing the library reads the database and scans
    # its folders (6 ms -> ~30 ms a measurement). A loaded file keeps its name meanwhile.
    from .library import ModelNames

    return ModelNames.listed().of(path)
