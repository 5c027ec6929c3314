"""Instruction rewrites, critique first (ProTeGi's "textual gradient", OPRO's meta-prompt):
the proposer model reads the current instruction and concrete failures — the case, the answer,
which check failed and why — says in a sentence what went wrong, then writes a new
instruction. Each rewrite keeps the critique that produced it.

The proposer is any model the app can use (a library GGUF, or a remote OpenAI-compatible
server). It is asked for a few rewrites at once, each sampled with its own seed (a local host
decodes them together). An answer that does not give a usable instruction is dropped, never
turned into a candidate."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...core.errors import HostRequestError, WorkbenchError
from ...core.generation import GenerationRequest
from ...core.messages import ChatMessage
from ...core.sampling import SamplingSettings
from ..models import ModelService

MAX_INSTRUCTION_CHARS = 600
FIELD_CHARS = 240  # how much of an input, answer or reason a failure shows
FAILURES_SHOWN = 3

SYSTEM = ("You improve instructions for a small language model. You are shown its current "
          "instruction and answers it got wrong. Reply in exactly this form:\n"
          "CRITIQUE: <one sentence on why the answers failed>\n"
          "INSTRUCTION: <the improved instruction, one short paragraph>")

_INSTRUCTION = re.compile(r"(?:^|\n)\s*\**\s*(?:new |improved )?instruction\s*\**\s*:\s*",
                          re.IGNORECASE)
_CRITIQUE = re.compile(r"(?:^|\n)\s*\**\s*critique\s*\**\s*:\s*", re.IGNORECASE)


class ProposerError(WorkbenchError):
    """The proposer model cannot be used (missing file, server down)."""


@dataclass(frozen=True)
class Failure:
    """One training case the current candidate got wrong."""

    question: str
    answer: str
    expected: str | None
    reason: str


@dataclass(frozen=True)
class Rewrite:
    critique: str
    instruction: str


def _cut(text: str, limit: int = FIELD_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def proposer_prompt(instruction: str, failures: Sequence[Failure]) -> str:
    lines = [f"CURRENT INSTRUCTION: {instruction.strip() or '(none)'}", "", "WRONG ANSWERS:"]
    for number, failure in enumerate(failures[:FAILURES_SHOWN], 1):
        lines.append(f"{number}. Input: {_cut(failure.question)}")
        lines.append(f"   Answer: {_cut(failure.answer) or '(empty)'}")
        if failure.expected:
            lines.append(f"   Expected: {_cut(failure.expected)}")
        lines.append(f"   Failed check: {_cut(failure.reason)}")
    if not failures:
        lines.append("(none: make the instruction clearer and more precise)")
    lines += ["", "Write the CRITIQUE line, then the INSTRUCTION line."]
    return "\n".join(lines)


def parse_rewrite(text: str, current: str) -> Rewrite | None:
    """The critique and the new instruction in the proposer's answer; None when it gives no
    instruction, an empty one or the current one again."""
    found = _INSTRUCTION.search(text)
    if found is None:
        return None
    instruction = text[found.end():].strip()
    instruction = _CRITIQUE.split(instruction)[0].strip().strip('"').strip()
    instruction = instruction[:MAX_INSTRUCTION_CHARS].strip()
    critique_match = _CRITIQUE.search(text[: found.start() + 1])
    critique = text[critique_match.end(): found.start()].strip() if critique_match else ""
    if len(instruction) < 8 or " ".join(instruction.split()) == " ".join(current.split()):
        return None
    return Rewrite(_cut(critique, 400), instruction)


class Proposer:
    """Asks ``reference`` (None: the bundled model) for rewrites."""

    def __init__(self, models: ModelService, reference: str | None, n_ctx: int = 2048,
                 max_tokens: int = 100):
        self.models, self.reference = models, reference
        self.n_ctx, self.max_tokens = n_ctx, max_tokens
        self.calls = 0
        self._model = None

    def _open(self):
        if self._model is None:
            try:
                if self.models.is_remote(self.reference):
                    self._model = self.models.open_remote(self.reference)
                else:
                    self._model = self.models.load_named(self.reference, n_ctx=self.n_ctx)
            except WorkbenchError as error:
                raise ProposerError(f"The proposer model '{self.reference or 'bundled'}' "
                                    f"cannot be used: {error}") from None
        return self._model

    def rewrites(self, instruction: str, failures: Sequence[Failure], count: int,
                 seed: int) -> list[Rewrite | None]:
        """``count`` answers, sampled with seeds seed, seed+1, …; None where one gave no
        usable instruction (or failed on its own)."""
        user = proposer_prompt(instruction, failures)
        requests = [GenerationRequest(
            messages=(ChatMessage("system", SYSTEM), ChatMessage("user", user)),
            sampling=SamplingSettings(temperature=0.8, top_p=0.95, seed=seed + index,
                                      max_tokens=self.max_tokens))
            for index in range(count)]
        model = self._open()
        try:
            streams = model.generate_many(requests)
        except WorkbenchError as error:
            raise ProposerError(f"The proposer cannot be used: {error}") from None
        self.calls += len(requests)
        answers: list[Rewrite | None] = []
        for stream in streams:
            try:
                answers.append(parse_rewrite(stream.result().text, instruction))
            except HostRequestError:
                answers.append(None)  # this one request failed; the others stand
        return answers
