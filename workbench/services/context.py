"""How a prompt fills the model's context window, part by part."""

from __future__ import annotations

from dataclasses import dataclass, field

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
from ..engine.protocol import TextModel


@dataclass(frozen=True)
class ContextBudget:
    system: int
    examples: int
    input: int
    answer: int  # tokens reserved for the answer (max_tokens)
    n_ctx: int
    rendered: str  # the exact text the model receives
    retrieved: int = 0  # the {{ context }} block's tokens (part of the user message)
    # Retrieved chunks that do not fit the window: named, kept in the prompt (see
    # core/retrieved_context.py).
    split: BudgetSplit = field(default_factory=BudgetSplit)

    @property
    def prompt(self) -> int:
        return self.system + self.examples + self.input + self.retrieved

    @property
    def room_left(self) -> int:
        return self.n_ctx - self.prompt - self.answer

    @property
    def fits(self) -> bool:
        return self.prompt < self.n_ctx

    @property
    def warning(self) -> str | None:
        if not self.fits:
            return (f"The prompt is {self.prompt:,} tokens; the context window holds "
                    f"{self.n_ctx:,}. Remove examples or shorten the input"
                    f"{' or retrieve fewer chunks' if self.retrieved else ''}.")
        if self.room_left < 0:
            return (f"Only {self.n_ctx - self.prompt:,} tokens are left for the answer "
                    f"(max tokens is {self.answer:,}): the answer will be cut short.")
        return None


def measure(model: TextModel, version: PromptVersion, variables: dict[str, str],
            max_tokens: int, context: CaseContext | None = None) -> ContextBudget:
    """Count each part by rendering the chat template with and without it.

    Templates add their own markup around each message, so a part's cost is the difference
    between renderings, which is exactly what it adds to the prompt. ``context``: the case's
    retrieved chunks (its ``variables`` are then ``context.variables``); the context block's
    own tokens are the "retrieved" part, taken out of the input's.
    """
    if context is not None:
        variables = context.variables
    system = system_messages(version)
    with_examples = system + example_messages(version)
    everything = compose(version, variables)

    def count(messages, generation_prompt: bool) -> tuple[int, str]:
        if not messages:
            return 0, ""
        text = model.render(messages, add_generation_prompt=generation_prompt)
        return len(model.tokenize(text, add_special=True, parse_special=True)), text

    system_tokens, _ = count(system, False)
    examples_tokens, _ = count(with_examples, False)
    total, rendered = count(everything, True)
    user = max(0, total - max(examples_tokens, system_tokens))
    retrieved, split = 0, BudgetSplit()
    if context is not None and context.chunks:
        def plain(text: str) -> int:
            return len(model.tokenize(text, add_special=False, parse_special=False))

        retrieved = min(user, plain(context.text)) if context.text in rendered else 0
        # Each chunk with the separator before it: the pieces add up to the block.
        sizes = [plain(format_chunk(n, chunk)) + (plain(CHUNK_SEPARATOR) if n > 1 else 0)
                 for n, chunk in enumerate(context.chunks, 1)]
        split = split_budget(context.chunks, sizes, total, model.metadata.n_ctx, max_tokens)
    return ContextBudget(
        system=system_tokens,
        examples=max(0, examples_tokens - system_tokens),
        input=user - retrieved,
        answer=max_tokens,
        n_ctx=model.metadata.n_ctx,
        rendered=rendered,
        retrieved=retrieved,
        split=split,
    )


# -- the prompt as tokens ------------------------------------------------------------------

SYSTEM, EXAMPLES, INPUT, RETRIEVED, TEMPLATE = "system", "examples", "input", "retrieved", "template"
PARTS = (SYSTEM, EXAMPLES, INPUT, RETRIEVED, TEMPLATE)  # display order
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

    @property
    def counts(self) -> dict[str, int]:
        """Tokens per part, every part listed (in PARTS order), so the counts add up."""
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
    return PromptTokens(tuple(tokens), rendered, received,
                        model.metadata.name if model.metadata else "")
