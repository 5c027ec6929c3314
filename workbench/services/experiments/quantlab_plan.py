"""How much of the quantization lab's work each step is, so that its progress moves in
proportion to the work.

Counting steps made the bar lie: on the bundled model it jumped past the quick steps and sat on
the slow ones — 50% through the reference pass (the slowest measurement: it reads the texts
twice), then 66% while the reference's own arm (already measured, no work) was skipped and the
next arm measured. Here every step has a weight from what it costs, and a measuring child's own
events (loading, text i/n, speed repeat i/n) move the bar within its step.

The costs are seconds measured on the bundled model (tests/bench/bench_quantlab.py prints each
step's measured share beside its weight's, to check them again); only their ratios matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.job_state import JobProgress
from .quantlab_config import SAMPLE_TEXTS, QuantLabConfig

# Seconds on the bundled model (SmolLM2-135M), one thread, measured with the lab's own children
# on a busy 2-core machine (every child slowed alike, so the ratios hold): two labs, pp 32 /
# tg 8 and pp 256 / tg 64, the difference of their speed repeats split 1 : 2.5 between a prompt
# and a decoded token as llama.cpp's own rates are (437 and 177 tokens/s, docs/engine.md).
QUANTIZE_S = 11.0  # one llama.cpp quantizer run (7.7-15.9 s: K-quants cost more)
CHILD_START_S = 2.7  # a measuring child: Python, llama.cpp's import
LOAD_S = 2.0  # the model loaded, the first decode
TEXT_S = 0.8  # one text read whole: its logits copied out, top-K or KL per position
POSITION_S = 0.005  # ... and per token of it
PP_TOKEN_S = 0.035  # one prompt token of a speed run
TG_TOKEN_S = 0.09  # one decoded token of a speed run
SUITE_CELL_S = 2.5  # one case of a suite generated and checked on a loaded file
REPORT_S = 8.0  # the report's plots drawn and written (matplotlib's first import included)
CHARS_PER_TOKEN = 4  # for a text not yet tokenized
MAX_TEXT_TOKENS = 512  # the measuring child reads at most one batch of each text


@dataclass(frozen=True)
class Measuring:
    """What one measuring child does, each part in seconds: its events move the bar."""

    start: float  # the child started and the model loaded
    reading: float  # every pass over the texts (the reference reads them twice)
    speed: float  # the speed runs
    text_events: int  # "token distributions, text i/n" events it sends in all

    @property
    def total(self) -> float:
        return self.start + self.reading + self.speed

    def done_part(self, event: JobProgress, texts_seen: int) -> float:
        """Seconds of this child's work done when it reports ``event``, ``texts_seen``: its
        text events so far, this one included. An event names the piece it starts, so the
        pieces before it are done."""
        message = event.message
        if message == "loading":  # Python and llama.cpp's import are done
            return self.start * CHILD_START_S / (CHILD_START_S + LOAD_S)
        if message.startswith("token distributions"):
            return self.start + self.reading * (texts_seen - 1) / max(1, self.text_events)
        if message.startswith("speed") and event.total:
            return self.start + self.reading + self.speed * event.done / event.total
        return 0.0


@dataclass(frozen=True)
class Step:
    kind: str  # "file", "reference", "arm", "suite", "report"
    name: str  # the type, the arm's label, …: for messages and tests
    weight: float  # seconds it is expected to take
    measuring: Measuring | None = None


def text_tokens(texts) -> int:
    """Tokens the measuring child reads, estimated from the texts' characters."""
    return sum(min(MAX_TEXT_TOKENS, max(2, len(text) // CHARS_PER_TOKEN)) for text in texts)


def measuring(config: QuantLabConfig, texts: int, tokens: int, passes: int) -> Measuring:
    reading = passes * (texts * TEXT_S + tokens * POSITION_S)
    speed = config.repeats * (config.pp * PP_TOKEN_S + config.tg * TG_TOKEN_S)
    return Measuring(CHILD_START_S + LOAD_S, reading, speed, passes * texts)


def lab_plan(config: QuantLabConfig, needs_reference_file: bool,
             texts: list[str] | None = None, suite_cases: int = 0) -> list[Step]:
    """The lab's steps in the order it runs them, each with its weight, before any file is
    made (every asked type expected to be made). ``texts``: what the token distributions are
    read on (the config's or the samples when None); ``suite_cases``: cells of one file's
    pass rate (the suite's prompts × tests × eval repeats)."""
    steps = [Step("file", "reference", QUANTIZE_S if needs_reference_file else 0.0)]
    steps += [Step("file", quant, QUANTIZE_S) for quant in config.quants]
    steps += [Step("file", path, 0.0) for path in config.existing]  # a header read
    files = [True] * (1 + len(config.quants) + len(config.existing))
    return steps + measuring_plan(config, files, texts, suite_cases)


def measuring_plan(config: QuantLabConfig, usable: list[bool],
                   texts: list[str] | None = None, suite_cases: int = 0) -> list[Step]:
    """The steps after the files are ready: the reference pass, each file's arms, each file's
    pass rates, the report. ``usable``: one per file (the reference first), False for a file
    that could not be made (its arms and pass rates cost nothing)."""
    texts = list(texts if texts is not None else (config.texts or SAMPLE_TEXTS))
    tokens = text_tokens(texts)
    reference = measuring(config, len(texts), tokens, passes=2)
    arm = measuring(config, len(texts), tokens, passes=1)
    steps = [Step("reference", "reference", reference.total, reference)]
    for number, works in enumerate(usable):
        for flags in config.engines:
            # the reference with default settings was measured by the reference pass
            measured = works and not (number == 0 and not flags)
            steps.append(Step("arm", f"{number}|{flags}", arm.total if measured else 0.0,
                              arm if measured else None))
    if config.suite:
        steps += [Step("suite", f"{number}|{flags}", suite_cases * SUITE_CELL_S if works else 0.0)
                  for number, works in enumerate(usable) for flags in config.engines]
    steps.append(Step("report", "report", REPORT_S))
    return steps


class LabProgress:
    """Where the lab is in its plan, as a fraction that only grows: ``begin`` a step, report
    what a child says of it, ``end`` it (a step skipped or kept from an interrupted lab ends
    at once: its work was done before)."""

    def __init__(self, steps: list[Step]):
        self.base = self.done = self.within = 0.0
        self.total = 1.0
        self.replan(steps)

    def replan(self, steps: list[Step]) -> None:
        """The rest of the work, better known now (which files were made): it fills what is
        left of the bar, from where the bar is."""
        self.base = self.fraction()  # reached before the steps of this plan
        self.steps = steps
        self.total = sum(step.weight for step in steps) or 1.0
        self.index = 0  # the step under way
        self.done = 0.0  # seconds of the steps ended
        self.within = 0.0  # seconds of the current step done
        self.texts_seen = 0

    @property
    def step(self) -> Step | None:
        return self.steps[self.index] if self.index < len(self.steps) else None

    def fraction(self) -> float:
        return min(1.0, self.base + (1 - self.base) * (self.done + self.within) / self.total)

    def child_event(self, event: JobProgress) -> None:
        """A measuring child's progress moves the bar within its step."""
        step = self.step
        if step is None or step.measuring is None:
            return
        if event.message.startswith("token distributions"):
            self.texts_seen += 1
        part = step.measuring.done_part(event, self.texts_seen)
        self.within = max(self.within, min(step.weight, part))

    def part(self, fraction: float) -> None:
        """The current step is ``fraction`` done (a suite's cells)."""
        step = self.step
        if step is not None:
            self.within = max(self.within, step.weight * min(1.0, max(0.0, fraction)))

    def end(self, kind: str) -> None:
        """The next step of ``kind`` has ended (steps of other kinds before it are passed:
        a cancelled lab skips them)."""
        while self.index < len(self.steps):
            step = self.steps[self.index]
            self.index += 1
            self.done += step.weight
            self.within, self.texts_seen = 0.0, 0
            if step.kind == kind:
                return
