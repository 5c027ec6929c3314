"""Model-graded assertions: a judge model grades an output against a rubric, or picks the
better of two outputs, on any model the app can use (the local llama.cpp host, or a remote
OpenAI-compatible server).

The judge's answer is forced into JSON by a llama.cpp grammar (GBNF, written here by hand so
that services need not import llama_cpp): ``{"pass": bool, "score": 0..1, "reason": "…"}`` for a
rubric, ``{"winner": "A"|"B"|"tie", "reason": "…"}`` for a pair. The reason is 1 to
``REASON_CHARS`` characters on one line, without quotes or backslashes (so it needs no escapes),
and ``max_tokens`` leaves room for the longest answer the grammar allows even if every character
took four byte-tokens, so the JSON always closes: even the bundled 135M model, a weak judge,
always gives an answer that parses. Decoding is greedy, so a grade is repeatable.

A remote server that ignores the ``grammar`` field (OpenAI itself) is asked the same way; its
answer is parsed leniently (the first ``{…}`` in it), and an answer that still does not parse
becomes a failing grade that carries the raw text, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ...core.errors import HostRequestError, WorkbenchError
from ...core.evaluation import Assertion, AssertionResult
from ...core.generation import GenerationRequest
from ...core.messages import ChatMessage
from ...core.sampling import GREEDY
from ...engine.protocol import TextModel

REASON_CHARS = 200  # the longest reason the grammar allows
OUTPUT_CHARS = 4000  # an output longer than this is cut in the judge's prompt
RAW_CHARS = 200  # how much of an unparseable answer a reason quotes
# Room for the longest answer the grammar allows: the JSON around the reason is under 60
# characters, and a character is at most four byte-tokens.
MAX_TOKENS = 4 * (REASON_CHARS + 60)

_REASON_RULES = rf"""
reason ::= "\"" first rest{{0,{REASON_CHARS - 1}}} "\""
first ::= [^"\\\x00-\x20]
rest ::= [^"\\\x00-\x1F]
sp ::= " "?
"""

GRADE_GRAMMAR = r"""root ::= "{" sp "\"pass\":" sp verdict "," sp "\"score\":" sp score "," sp "\"reason\":" sp reason sp "}"
verdict ::= "true" | "false"
score ::= "0" ("." [0-9] [0-9]?)? | "1" (".0" "0"?)?
""" + _REASON_RULES

PAIRWISE_GRAMMAR = r"""root ::= "{" sp "\"winner\":" sp winner "," sp "\"reason\":" sp reason sp "}"
winner ::= "\"A\"" | "\"B\"" | "\"tie\""
""" + _REASON_RULES

GRADE_SYSTEM = (
    "You are a strict grader. You read an OUTPUT and decide whether it satisfies the RUBRIC. "
    'Answer with one JSON object and nothing else, with the keys "pass" (true only when the '
    'OUTPUT meets the RUBRIC, else false), "score" (how well it meets it, from 0 = not at all '
    'to 1 = fully) and "reason" (why, in your own words, in one sentence).')

PAIRWISE_SYSTEM = (
    "You are a strict judge. You read a QUESTION and two answers to it, A and B, and decide "
    "which answer better meets the CRITERION. Answer with one JSON object and nothing else, "
    'with the keys "winner" ("A", "B", or "tie" only when neither is better) and "reason" '
    '(why, in your own words, in one sentence).')

Winner = Literal["a", "b", "tie"]
SWAP: dict[str, Winner] = {"a": "b", "b": "a", "tie": "tie"}


class JudgeError(WorkbenchError):
    """The judge model cannot be used (its file is missing, its server is down, …)."""


@dataclass(frozen=True)
class Grade:
    """The judge's verdict on one output. ``parsed`` False: its answer was not the JSON asked
    for (it should not happen under the grammar); the grade then fails and ``reason`` quotes
    the raw answer."""

    passed: bool
    score: float
    reason: str
    raw: str
    parsed: bool = True
    refused: bool = False  # the judge could not answer this request: nothing was decided


@dataclass(frozen=True)
class GradeRequest:
    """One output to grade: the rubric, the output, and optionally the question it answers
    (the rendered user input) and the case's reference answer."""

    rubric: str
    output: str
    question: str | None = None
    expected: str | None = None


@dataclass(frozen=True)
class PairwiseGrade:
    """Which of two outputs the judge preferred: "a", "b" or "tie"."""

    winner: Winner
    reason: str
    raw: str
    parsed: bool = True


class Judge:
    """Grades outputs with ``model``. ``name`` is how messages name the judge (default: the
    model's name)."""

    def __init__(self, model: TextModel, name: str | None = None):
        self.model = model
        self._name = name

    @property
    def name(self) -> str:
        if self._name:
            return self._name
        from ..library import ModelNames

        settings = getattr(self.model, "settings", None)  # a local model's host
        if settings is not None:  # its one name, as the window shows it
            return ModelNames.listed().of(settings.path)
        metadata = getattr(self.model, "metadata", None)  # a server's model
        return metadata.name if metadata is not None else type(self.model).__name__

    def start(self) -> None:
        """Load or reach the judge model now, so a missing judge fails a run up front."""
        try:
            self.model.start()
        except WorkbenchError as error:
            raise JudgeError(f"The judge {self.name} cannot be used: {error}") from None

    def grade(self, rubric: str, output: str, *, question: str | None = None,
              expected: str | None = None) -> Grade:
        """Does ``output`` meet ``rubric``? ``question``: the rendered user input it answers;
        ``expected``: the case's reference answer, if any."""
        return self.grade_many([GradeRequest(rubric, output, question, expected)])[0]

    def grade_many(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        """Grade several outputs at once: the local host decodes them together in one batch
        (its parallel slots), which is how a run grades a column quickly."""
        answers = self._ask([(GRADE_SYSTEM, _grade_prompt(r), GRADE_GRAMMAR) for r in requests])
        return [grade_from_answer(raw, refused) for raw, refused in answers]

    def compare(self, criterion: str, question: str, output_a: str,
                output_b: str) -> PairwiseGrade:
        """Which output meets ``criterion`` better?

        Judges prefer whichever answer they read first (or second), so the pair is asked twice,
        the second time with A and B swapped. When the two verdicts agree, that is the answer;
        when they disagree, the position decided, not the answers: it is a tie. An answer that
        does not parse also makes a tie (``parsed`` False)."""
        first, swapped = (
            _pairwise(raw, refused) for raw, refused in self._ask([
                (PAIRWISE_SYSTEM, _pairwise_prompt(criterion, question, output_a, output_b),
                 PAIRWISE_GRAMMAR),
                (PAIRWISE_SYSTEM, _pairwise_prompt(criterion, question, output_b, output_a),
                 PAIRWISE_GRAMMAR)]))
        raw = f"{first.raw}\n{swapped.raw}"
        if not first.parsed or not swapped.parsed:
            broken = first if not first.parsed else swapped
            return PairwiseGrade("tie", broken.reason, raw, parsed=False)
        swapped_winner = SWAP[swapped.winner]
        if first.winner == swapped_winner:
            return PairwiseGrade(first.winner, first.reason, raw)
        return PairwiseGrade(
            "tie", f"The verdict changed when A and B were swapped (asked first: "
                   f"{_shown(first.winner)}, {first.reason} / swapped: "
                   f"{_shown(swapped_winner)}, {swapped.reason}), so it counts as a tie.", raw)

    def _ask(self, prompts: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
        """For each (system, user, grammar): the judge's raw answer, and why it could not
        answer that request ("" if it did).

        A judge that cannot be used at all raises JudgeError; one request it refuses (a prompt
        longer than its context window) fails only that grade."""
        requests = [GenerationRequest(
            messages=(ChatMessage("system", system), ChatMessage("user", user)),
            sampling=GREEDY.with_(max_tokens=MAX_TOKENS, grammar=grammar, seed=0))
            for system, user, grammar in prompts]
        try:
            streams = self.model.generate_many(requests)
        except WorkbenchError as error:
            raise JudgeError(f"The judge {self.name} cannot be used: {error}") from None
        answers = []
        for stream in streams:
            try:
                answers.append((stream.result().text, ""))
            except HostRequestError as error:
                answers.append(("", f"The judge {self.name} could not grade this: {error}"))
            except WorkbenchError as error:
                for other in streams:
                    other.cancel()
                raise JudgeError(f"The judge {self.name} cannot be used: {error}") from None
        return answers


def rubric_result(assertion: Assertion, grade: Grade) -> AssertionResult:
    """An ``llm-rubric`` assertion's result: the judge's score against the assertion's
    threshold when it has one, else the judge's own pass; the reason is the judge's either way.
    ``not-llm-rubric`` flips the verdict and the score; an answer that did not parse fails in
    both forms (undecided when the judge refused the request)."""
    if not grade.parsed:
        return AssertionResult(assertion, False, 0.0, grade.reason, undecided=grade.refused)
    passed = grade.score >= assertion.threshold if assertion.threshold is not None \
        else grade.passed
    score = grade.score
    if assertion.negate:
        passed, score = not passed, 1.0 - score
    return AssertionResult(assertion, passed, score, grade.reason)


def _grade_prompt(request: GradeRequest) -> str:
    parts = [("RUBRIC", request.rubric)]
    if request.question:
        parts.append(("QUESTION", request.question))
    if request.expected:
        parts.append(("EXPECTED ANSWER", request.expected))
    parts.append(("OUTPUT", _cut_output(request.output)))
    return _sections(parts)


def _pairwise_prompt(criterion: str, question: str, first: str, second: str) -> str:
    return _sections([("CRITERION", criterion), ("QUESTION", question),
                      ("ANSWER A", _cut_output(first)), ("ANSWER B", _cut_output(second))])


def grade_from_answer(raw: str, refused: str = "") -> Grade:
    """The Grade a judge's raw answer says (``refused``: why the judge could not answer)."""
    if refused:
        return Grade(False, 0.0, refused, raw, parsed=False, refused=True)
    answer = _parse(raw)
    if (answer is None or not isinstance(answer.get("pass"), bool)
            or not _is_number(answer.get("score"))):
        return Grade(False, 0.0, _unparseable(raw), raw, parsed=False)
    score = min(1.0, max(0.0, float(answer["score"])))
    return Grade(answer["pass"], score, _reason(answer), raw)


def _pairwise(raw: str, refused: str) -> PairwiseGrade:
    if refused:
        return PairwiseGrade("tie", refused, raw, parsed=False)
    answer = _parse(raw)
    winner = answer.get("winner") if answer else None
    if winner not in ("A", "B", "tie"):
        return PairwiseGrade("tie", _unparseable(raw), raw, parsed=False)
    return PairwiseGrade(winner.lower(), _reason(answer), raw)  # type: ignore[arg-type]


def _sections(parts: list[tuple[str, str]]) -> str:
    return "\n\n".join(f"{title}:\n{text.strip()}" for title, text in parts)


def _cut_output(text: str) -> str:
    if len(text) <= OUTPUT_CHARS:
        return text
    return text[:OUTPUT_CHARS] + f"\n[… cut: {len(text) - OUTPUT_CHARS} more characters]"


def _parse(raw: str) -> dict | None:
    """The JSON object in ``raw``: all of it, or (from a server that ignored the grammar) the
    first ``{…}`` in it."""
    for candidate in (raw.strip(), *re.findall(r"\{.*?\}", raw, re.S)):
        try:
            answer = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(answer, dict):
            return answer
    return None


def _reason(answer: dict) -> str:
    reason = " ".join(str(answer.get("reason") or "").split())
    return reason or "The judge gave no reason."


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unparseable(raw: str) -> str:
    shown = " ".join(raw.split())
    if len(shown) > RAW_CHARS:
        shown = shown[:RAW_CHARS - 1] + "…"
    return f"The judge's answer is not the JSON asked for: {shown!r}"


def _shown(winner: Winner) -> str:
    """A verdict named in the caller's order of the outputs."""
    return {"a": "A wins", "b": "B wins", "tie": "tie"}[winner]
