"""Retrieved chunks as the ``{{ context }}`` a prompt receives, and what they cost in tokens.

One function decides the text of the context block (``format_context``) and one builds the
messages with it (``compose``): the composer's preview and the comparison run both go through
them, so the preview is the prompt the model gets.

Which text a case searches with (``case_query``): its ``query`` variable if it has one, else
``question``, else ``input``, else the first other variable's value. A case that fills
``context`` itself keeps its own (retrieval is skipped for it); a variant without retrieval
renders ``{{ context }}`` empty.

Chunks that do not fit the context window are *kept* in the prompt (what a variant asked for
is what runs) and named, each with its size and what was already used (``split_budget``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from .composition import build_messages
from .messages import ChatMessage
from .prompts import PromptVersion
from .retrieval import RetrievalSettings, Retrieved
from .wording import counted

CONTEXT_VARIABLE = "context"
QUERY_VARIABLES = ("query", "question", "input")
GOLD_VARIABLES = ("gold_sources", "__gold_sources")
CHUNK_SEPARATOR = "\n\n"


def case_query(variables: dict[str, str]) -> str:
    """The text a case searches with (see the module's docstring)."""
    for name in QUERY_VARIABLES:
        if str(variables.get(name) or "").strip():
            return str(variables[name]).strip()
    for name, value in variables.items():
        if name != CONTEXT_VARIABLE and name not in GOLD_VARIABLES and str(value or "").strip():
            return str(value).strip()
    return ""


def gold_sources(variables: dict[str, str]) -> tuple[str, ...]:
    """The file names a case says hold its answer (comma separated), if it names any."""
    for name in GOLD_VARIABLES:
        value = str(variables.get(name) or "")
        if value.strip():
            return tuple(part.strip() for part in value.split(",") if part.strip())
    return ()


def has_own_context(variables: dict[str, str]) -> bool:
    return bool(str(variables.get(CONTEXT_VARIABLE) or "").strip())


def source_name(chunk: Retrieved) -> str:
    """The chunk's file name as the user knows it (handbook.md), else its title."""
    return PurePath(chunk.source).name if chunk.source else chunk.title


def format_chunk(number: int, chunk: Retrieved) -> str:
    """``[1] (handbook.md) text``: the number a citation uses, the source, the text."""
    return f"[{number}] ({chunk.title or source_name(chunk)}) {chunk.text.strip()}"


def format_context(chunks: Sequence[Retrieved]) -> str:
    return CHUNK_SEPARATOR.join(format_chunk(n, chunk) for n, chunk in enumerate(chunks, 1))


@dataclass(frozen=True)
class CaseContext:
    """One case's variables with ``context`` filled, and the chunks that filled it."""

    variables: dict[str, str]
    settings: RetrievalSettings = RetrievalSettings()
    query: str = ""
    chunks: tuple[Retrieved, ...] = ()
    own: bool = False  # the case set ``context`` itself: nothing was retrieved
    text: str = ""  # the context block ("" when nothing was retrieved)

    @property
    def retrieved(self) -> bool:
        return bool(self.chunks)


def fill_context(variables: dict[str, str], settings: RetrievalSettings,
                 chunks: Sequence[Retrieved] = (), query: str = "") -> CaseContext:
    """The case's variables as the prompt uses them under ``settings``."""
    variables = dict(variables)
    if has_own_context(variables):
        return CaseContext(variables, settings, query, (), True,
                           variables[CONTEXT_VARIABLE])
    chunks = tuple(chunks) if settings.active else ()
    text = format_context(chunks)
    variables[CONTEXT_VARIABLE] = text
    return CaseContext(variables, settings, query, chunks, False, text)


def compose(version: PromptVersion, variables: dict[str, str]) -> list[ChatMessage]:
    """The messages for a case whose ``context`` may be empty on purpose."""
    return build_messages(version, variables, allow_empty=(CONTEXT_VARIABLE,))


# -- the budget ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ChunkFit:
    number: int  # as the context block numbers it (1-based)
    chunk: Retrieved
    tokens: int
    fits: bool
    used_before: int  # prompt tokens before this chunk (everything else counted first)

    def note(self, n_ctx: int, answer: int = 0) -> str:
        """"chunk 4 of handbook.md (312 tokens) does not fit: 1,840 of 2,048 tokens used"."""
        if self.fits:
            return ""
        kept = f", {answer:,} kept for the answer" if answer else ""
        return (f"chunk {self.chunk.position + 1} of {source_name(self.chunk)} "
                f"({counted(self.tokens, 'token')}) does not fit: {self.used_before:,} of "
                f"{n_ctx:,} tokens used{kept}")


@dataclass(frozen=True)
class BudgetSplit:
    fits: tuple[ChunkFit, ...] = field(default_factory=tuple)
    n_ctx: int = 0
    answer: int = 0

    @property
    def overflowing(self) -> tuple[ChunkFit, ...]:
        return tuple(f for f in self.fits if not f.fits)

    def notes(self) -> list[str]:
        return [f.note(self.n_ctx, self.answer) for f in self.overflowing]


def split_budget(chunks: Sequence[Retrieved], chunk_tokens: Sequence[int], prompt_tokens: int,
                 n_ctx: int, answer: int = 0) -> BudgetSplit:
    """Which chunks fit the window, in the order the prompt holds them.

    ``prompt_tokens`` is the whole prompt with every chunk; what is not the chunks counts
    first (system, examples, the question), then each chunk; a chunk that ends past
    ``n_ctx - answer`` does not fit, nor does any after it."""
    base = max(0, prompt_tokens - sum(chunk_tokens))
    limit, used, overflowed, fits = n_ctx - answer, base, False, []
    for number, (chunk, tokens) in enumerate(zip(chunks, chunk_tokens), 1):
        overflowed = overflowed or used + tokens > limit
        fits.append(ChunkFit(number, chunk, tokens, not overflowed, used))
        used += tokens
    return BudgetSplit(tuple(fits), n_ctx, answer)
