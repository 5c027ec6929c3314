"""An evaluation suite: prompts × providers (variants) × tests with assertions.

The shape is promptfoo's (``prompts``, ``providers``, ``tests`` with ``vars`` and ``assert``,
``defaultTest``), read and written by ``services/evaluation/suite_file.py``. Here it is plain
data, independent of YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import WorkbenchError
from .evaluation import Assertion
from .ids import new_id, utc_now
from .prompts import FewShotExample


@dataclass(frozen=True)
class SuiteProblem:
    """One thing wrong (or unsupported) in a suite file, with where it is."""

    source: str  # the file's path, or "the suite"
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.key}: {self.message}"


class SuiteError(WorkbenchError):
    """A suite that cannot run; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[SuiteProblem] | SuiteProblem):
        self.problems = [problems] if isinstance(problems, SuiteProblem) else list(problems)
        count = len(self.problems)
        head = "The suite has a problem:" if count == 1 else f"The suite has {count} problems:"
        super().__init__("\n".join([head, *map(str, self.problems)]))


@dataclass(frozen=True)
class SuitePrompt:
    """A prompt as the composer holds it: system prompt, few-shot examples, user template
    (``{{var}}`` placeholders, as promptfoo's)."""

    label: str
    user_template: str
    system: str = ""
    examples: tuple[FewShotExample, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class SuiteProvider:
    """A model reference (library name, file path, ``openai+http://…``; a promptfoo id is read
    as one, services/evaluation/suite_providers.py) with sampling settings (``config``:
    temperature, max_tokens, seed, top_p, …; SamplingSettings' names) and, for a server, the
    request keys it is sent as written (response_format, passthrough, …)."""

    id: str
    label: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    # What the run says once about how it reaches this provider (a promptfoo id: where it
    # goes, what it does differently from promptfoo), e.g. ``workbench eval``'s notes.
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return self.label or self.id


@dataclass(frozen=True)
class SuiteTest:
    description: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    assertions: tuple[Assertion, ...] = ()
    threshold: float | None = None
    expected: str | None = None  # the reference answer (rouge-l, levenshtein, likelihood)
    line: int | None = None
    # the file it was written in when not the suite's own (a file:// tests file), for messages
    source: str | None = field(default=None, compare=False)
    # promptfoo's options.transform (the output before the checks) and options.transformVars
    # (the vars before rendering): JavaScript, run in a sandbox
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    description: str = ""
    prompts: tuple[SuitePrompt, ...] = ()
    providers: tuple[SuiteProvider, ...] = ()
    tests: tuple[SuiteTest, ...] = ()
    # defaultTest: merged into every test (its assertions first, its vars under the test's)
    default_assertions: tuple[Assertion, ...] = ()
    default_vars: dict[str, str] = field(default_factory=dict)
    default_threshold: float | None = None
    judge: str | None = None  # defaultTest.options.provider: the judge of model-graded checks
    source: str = "the suite"
    # where ``judge`` was written (file, line), for messages; not part of what the suite is
    judge_at: tuple[str, int | None] | None = field(default=None, compare=False)
    default_options: dict[str, str] = field(default_factory=dict)  # under each test's own

    def effective_tests(self) -> tuple[SuiteTest, ...]:
        """Each test with the defaults merged in, as it runs."""
        merged = []
        for test in self.tests:
            merged.append(SuiteTest(
                description=test.description, vars={**self.default_vars, **test.vars},
                assertions=self.default_assertions + test.assertions,
                threshold=test.threshold if test.threshold is not None else self.default_threshold,
                expected=test.expected, line=test.line, source=test.source,
                options={**self.default_options, **test.options}))
        return tuple(merged)


@dataclass(frozen=True)
class StoredSuite:
    """A suite kept in a session: the cases live in ``case_set_id`` (with their assertions);
    the file's text is kept as imported, so a run can always say what it was run from."""

    session_id: str
    case_set_id: str
    name: str
    source_path: str = ""
    yaml_text: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
