"""Suites in promptfoo's YAML layout: read with a line number on everything, written back.

What is read (promptfoo's names; ``file://`` paths are relative to the suite file):

- ``description``
- ``prompts``: texts with ``{{var}}`` placeholders; objects ``{id, label, raw}``; a map
  ``{prompt: label}``; chats, a list of ``{role, content}`` (inline YAML, a JSON string, or a
  ``file://….json``/``.yaml``): a leading system message is the system prompt, user/assistant
  pairs before the last user message are few-shot examples, the last user message is the user
  template. ``file://….md`` is read as the prompt's text; ``file://….txt`` as promptfoo
  reads it: split at lines that are ``---``, each part trimmed, one prompt per part.
- ``providers``: a model reference (library name, GGUF path, ``openai+http://…``), or
  ``{id, label, config}``; ``config`` keys are SamplingSettings' names (``CONFIG_KINDS``).
- ``tests``: a list (an item may be a ``file://`` reference), or ``file://tests.yaml``, or a
  table of tests (``.csv``, ``.tsv``, ``.jsonl``, or any format an importer plugin reads).
  In a CSV every column is a variable except ``__expected`` (also ``__expected2``, …: one
  assertion each in promptfoo's shorthand, ``contains: Paris``, ``not-icontains: x``,
  ``rouge-l(0.6): text``, a bare text meaning ``equals``; without a ``(threshold)``
  ``levenshtein``, ``similar``, ``latency``, ``perplexity``, ``perplexity-score`` and ``cost``
  get promptfoo's, ``CSV_THRESHOLDS``), ``__description`` and ``__threshold``.
- a test: ``description``, ``vars``, ``assert``, ``threshold``, ``expected`` and ``options``
  (``transform``, ``transformVars``: JavaScript, ``suite_options.py``).
- ``defaultTest``: ``vars``, ``assert``, ``threshold``, ``options`` (``provider``, the judge;
  ``transform``, ``transformVars``).
- an assertion: ``type``, ``value``, ``weight``, ``threshold``, ``provider``, ``metric``;
  ``transform``; an ``assert-set``: ``assert`` (its own list), ``weight``, ``threshold``,
  ``metric``. JavaScript (``javascript``, the transforms) is compiled as the file is read.

A key this app does not implement is an error, not a warning: promptfoo has many (``scenarios``,
``env``, a provider's ``transform``, per-test ``provider`` …) and a user must never believe one
did something.
Every problem in the file — unsupported keys, wrong types, unusable assertions (checked with
``validation.assertion_problem``), variables a test does not give — is collected and raised at
once as one ``SuiteError``, one ``file:line`` line each, before anything is generated.

What is written (``dump_suite``/``save_suite``) uses only promptfoo's keys plus ``expected``, a
Prompt Workbench extension on a test (its reference answer, which promptfoo does not use); the
file's header comment says so. A chat prompt is written as a JSON chat string under ``raw``,
the form promptfoo's providers read. ``parse_suite(dump_suite(s))`` equals ``s`` apart from line
numbers, except that disabled few-shot examples are left out (the model never sees them) and a
templated example is written as its rendered user message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...core.errors import WorkbenchError
from ...core.evaluation import ASSERT_SET, ASSERTION_TYPES, Assertion
from ...core.prompts import VARIABLE
from ...core.retrieved_context import CONTEXT_VARIABLE
from ...core.suites import Suite, SuiteError, SuiteProblem, SuitePrompt, SuiteTest
from ...core.tabular import Rows, TabularError
from ...core.tabular import read_table as read_any_table
from .assert_set import read_set
from .suite_options import DEFAULT_TEST_OPTIONS, TEST_OPTIONS, read_options
from .suite_prompts import PromptReading
from .suite_providers import judge_reference
from .suite_writer import dump_suite, save_suite  # noqa: F401 - part of this module's API
from .suite_yaml import (
    FILE,
    NOT_YAML,
    LinedMap,
    LinedSeq,
    SuiteReader,
    is_number,
    plain,
    short,
    text_of,
    threshold_of,
)
from .validation import LIST_TYPES, NUMBER_TYPES, assertion_problem

TOP_KEYS = ("description", "prompts", "providers", "tests", "defaultTest")
TEST_KEYS = ("description", "vars", "assert", "threshold", "expected", "options")
DEFAULT_TEST_KEYS = ("vars", "assert", "threshold", "options")
ASSERT_KEYS = ("type", "value", "weight", "threshold", "provider", "metric", "transform")
CSV_COLUMNS = ("__expected", "__description", "__threshold")
EXPECTED_COLUMN = re.compile(r"__expected\d*")
# promptfoo's assertion shorthand (CSV ``__expected``): ``[not-]type[(threshold)][: value]``.
SHORTHAND = re.compile(r"(not-)?([a-z][a-z-]*)(?:\((\d+(?:\.\d+)?)\))?(?::[ \t]?(.*))?", re.S)
CODE_PREFIXES = ("fn:", "eval:", "javascript:")
# promptfoo's threshold for a shorthand that gives none (src/csv.ts: 0.8 for similar, 0.75 for
# the rest, even where 0.75 means "exactly": levenshtein, latency in milliseconds; its list
# has starts-with too, which reads no threshold).
CSV_THRESHOLDS = {"similar": 0.8, "levenshtein": 0.75, "latency": 0.75, "perplexity": 0.75,
                  "perplexity-score": 0.75, "cost": 0.75}

ReadTable = Callable[[Path], Rows]
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")  # read without plugins (the built-in importer's)


def read_table(path: Path) -> Rows:
    """A table of tests without the plugins: the built-in importer's formats."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise TabularError(f"test files are .yaml, .json, .csv, .tsv or .jsonl (or what an "
                           f"importer plugin reads), not {suffix or 'a file without a suffix'}"
                           "; test generators are not supported")
    return read_any_table(path)


def load_suite(path: str | Path, *, scorers: set[str] | None = None,
               filters: set[str] | None = None, read_table: ReadTable = read_table) -> Suite:
    """The suite in the YAML file at ``path``; ``SuiteError`` lists every problem at once.

    ``scorers``/``filters``: names plugins registered, to check python and flagged assertions
    (None: not checked). ``read_table``: how a ``file://`` table of tests is read (the
    plugins' importers, ``PluginManager.read_table``; by default the built-in reader)."""
    suite, problems = read_suite(path, scorers=scorers, filters=filters, read_table=read_table)
    if problems or suite is None:
        raise SuiteError(problems)
    return suite


def read_suite(path: str | Path, *, scorers: set[str] | None = None,
               filters: set[str] | None = None, read_table: ReadTable = read_table,
               ) -> tuple[Suite | None, list[SuiteProblem]]:
    """The suite at ``path`` as far as it could be read, and every problem found on the way
    (in reading order), without raising: the preflight goes on checking what could be read,
    so a file's problems and its models', judges' and templates' come in one list. The suite
    is None when the file is not a suite at all (unreadable, not YAML, not a mapping)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "it is not UTF-8 text"
        return None, [SuiteProblem(str(path), None, "file", f"cannot read it: {reason}")]
    return _parse(text, str(path), path.parent, scorers, filters, read_table)


def parse_suite(text: str, source: str = "the suite", *, base_dir: str | Path | None = None,
                scorers: set[str] | None = None, filters: set[str] | None = None) -> Suite:
    """The suite in ``text`` (``source`` names it in messages; ``file://`` references are
    read relative to ``base_dir``, by default the working folder)."""
    suite, problems = _parse(text, source, base_dir, scorers, filters)
    if problems or suite is None:
        raise SuiteError(problems)
    return suite


def _parse(text: str, source: str, base_dir: str | Path | None, scorers: set[str] | None,
           filters: set[str] | None, read_table: ReadTable = read_table,
           ) -> tuple[Suite | None, list[SuiteProblem]]:
    reader = SuiteReader(source, Path(base_dir) if base_dir is not None else Path.cwd(), [])
    data = reader.load_yaml(text)
    suite = None
    if isinstance(data, LinedMap):
        suite = _SuiteParser(scorers, filters, read_table).suite(reader, data)
    elif data is not NOT_YAML:
        reader.problem(None, "suite", "the file must be a mapping with prompts, providers and "
                                      "tests (promptfoo's layout)")
    return suite, _in_reading_order(reader.problems)


def _in_reading_order(problems: list[SuiteProblem]) -> list[SuiteProblem]:
    """By file (the suite first, then files in the order it names them), then by line."""
    files = list(dict.fromkeys(problem.source for problem in problems))
    return sorted(problems, key=lambda p: (files.index(p.source), p.line or 0))



def without_lines(suite: Suite) -> Suite:
    """The suite with every line number cleared: what two readings of equal content share."""
    def bare(assertions: tuple[Assertion, ...]) -> tuple[Assertion, ...]:
        return tuple(replace(a, line=None, assertions=bare(a.assertions)) for a in assertions)
    return replace(
        suite, prompts=tuple(replace(p, line=None) for p in suite.prompts),
        providers=tuple(replace(p, line=None) for p in suite.providers),
        tests=tuple(replace(t, line=None, assertions=bare(t.assertions)) for t in suite.tests),
        default_assertions=bare(suite.default_assertions))


def assertion_from_string(text: str, line: int | None = None) -> Assertion:
    """promptfoo's CSV shorthand: ``contains: Paris``, ``not-icontains: x``,
    ``rouge-l(0.6): text``, ``grade: rubric``; a text without a known type means ``equals``."""
    text = text.strip()
    for prefix in ("grade:", "llm-rubric:"):
        if text.startswith(prefix):
            return Assertion("llm-rubric", value=text[len(prefix):].strip(), line=line)
    for prefix in CODE_PREFIXES:  # promptfoo's JavaScript: kept, so validation names it
        if text.startswith(prefix):
            return Assertion("javascript", value=text[len(prefix):].strip(), line=line)
    match = SHORTHAND.fullmatch(text)
    if match is None or match[2] not in ASSERTION_TYPES:
        return Assertion("equals", value=text, line=line)
    negate, kind, threshold, raw = match.groups()
    return Assertion(kind, value=_shorthand_value(kind, raw.strip() if raw else None),
                     negate=bool(negate), line=line,
                     threshold=float(threshold) if threshold else CSV_THRESHOLDS.get(kind))


def _shorthand_value(kind: str, raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    if kind in LIST_TYPES:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind in NUMBER_TYPES and raw.isdigit():
        return int(raw)
    if kind in ("is-json", "contains-json"):
        try:
            return json.loads(raw)
        except ValueError:
            return raw  # validation says the schema is not an object
    return raw



# --- reading ----------------------------------------------------------------------------------

class _SuiteParser(PromptReading):
    """Turns the loaded YAML into a Suite, recording every problem on its way."""

    def __init__(self, scorers: set[str] | None, filters: set[str] | None,
                 read_table: ReadTable):
        self.scorers, self.filters, self.read_table = scorers, filters, read_table
        self.tests: list[tuple[SuiteTest, str, SuiteReader]] = []  # with its name and its file
        self.reading: set[Path] = set()  # test files being read, to stop a file naming itself
        self.retrieval_seen = False  # a provider's config names retrieval (fills {{context}})
        self.default_options: dict[str, str] = {}  # defaultTest.options' code (suite_options)

    def suite(self, reader: SuiteReader, data: LinedMap) -> Suite:
        reader.unsupported(data, TOP_KEYS, "at the top level")
        prompts = self.prompts(reader, data.get("prompts"), data.line_of("prompts"))
        if not prompts and "prompts" not in data:
            reader.problem(None, "prompts", "the suite needs at least one prompt")
        providers = self.providers(reader, data.get("providers"), data.line_of("providers"))
        default_vars, default_assertions, threshold, judge, judge_at = self.default_test(
            reader, data.get("defaultTest"), data.line_of("defaultTest"))
        self.read_tests(reader, data.get("tests"), data.line_of("tests"))
        self.check_variables(prompts, default_vars,
                             retrieved=self.retrieval_seen)
        return Suite(
            description=text_of(reader, data.get("description"), data.line_of("description"),
                              "description") or "",
            prompts=tuple(prompts), providers=tuple(providers),
            tests=tuple(test for test, _, _ in self.tests), default_assertions=default_assertions,
            default_vars=default_vars, default_threshold=threshold, judge=judge,
            source=reader.source, judge_at=judge_at, default_options=self.default_options)

    # tests

    def read_tests(self, reader: SuiteReader, node: Any, line: int | None) -> None:
        if node is None:
            return
        if isinstance(node, str):
            self.test_reference(reader, node, line)
            return
        if not isinstance(node, LinedSeq):
            reader.problem(line, "tests", "must be a list of tests or a file:// reference")
            return
        for item, item_line in zip(node, node.item_lines):
            if isinstance(item, str):
                self.test_reference(reader, item, item_line)
            elif isinstance(item, LinedMap):
                self.test(reader, item)
            else:
                reader.problem(item_line, "tests", "a test is a mapping (description, vars, "
                                                   "assert) or a file:// reference")

    def test_reference(self, reader: SuiteReader, reference: str, line: int | None) -> None:
        suffix = Path(reference).suffix.lower()
        if not reference.startswith(FILE):
            reader.problem(line, "tests", "a text here must be a file:// reference to tests")
        elif suffix in (".yaml", ".yml", ".json"):
            path = (reader.base_dir / reference[len(FILE):]).resolve()
            if path in self.reading:  # a file that names itself, directly or not
                reader.problem(line, "tests", f"{reference} is already being read (a loop)")
                return
            loaded = reader.load(reference, line, "tests")
            if loaded is not None:
                self.reading.add(path)
                self.read_tests(loaded[1], loaded[0], 1)
                self.reading.discard(path)
        else:
            self.table_of_tests(reader, reference, line)

    def table_of_tests(self, reader: SuiteReader, reference: str, line: int | None) -> None:
        """A table of tests (.csv, .tsv, .jsonl, or any format an importer plugin reads): a
        column per variable, promptfoo's special columns (__expected, …) for the rest."""
        path = reader.base_dir / reference[len(FILE):]
        try:
            table = self.read_table(path)
        except WorkbenchError as error:  # unreadable, or no importer reads it
            reader.problem(line, "tests", f"{reference}: {error}")
            return
        in_file = SuiteReader(str(path), path.parent, reader.problems)
        for problem in table.problems:
            in_file.problem(problem.line, "tests", problem.reason)
        self.table_tests(in_file, table)

    def test(self, reader: SuiteReader, node: LinedMap) -> None:
        number = len(self.tests) + 1
        description = text_of(reader, node.get("description"), node.line_of("description"),
                            "description") or ""
        name = f'test "{description}"' if description else f"test {number}"
        reader.unsupported(node, TEST_KEYS, f"in {name}")
        test = SuiteTest(
            description=description,
            vars=self.vars(reader, node.get("vars"), node.line_of("vars"), name),
            assertions=self.assertions(reader, node.get("assert"), node.line_of("assert"), name),
            threshold=threshold_of(reader, node, name),
            expected=text_of(reader, node.get("expected"), node.line_of("expected"), "expected"),
            line=node.line, source=reader.source,
            options=read_options(reader, node.get("options"), node.line_of("options"), name,
                                 TEST_OPTIONS))
        self.tests.append((test, name, reader))

    def table_tests(self, reader: SuiteReader, table: Rows) -> None:
        header = table.columns
        for column in header:
            if column.startswith("__") and column not in CSV_COLUMNS \
                    and not EXPECTED_COLUMN.fullmatch(column):
                reader.problem(1, column, "column not supported; special columns: __expected "
                               "(and __expected2, …), __description, __threshold")
        for index, row in enumerate(table.rows):
            line = table.line_of(index)
            description = row.get("__description", "").strip()
            name = f'test "{description}"' if description else f"test {len(self.tests) + 1}"
            assertions = []
            for column in header:
                if EXPECTED_COLUMN.fullmatch(column) and row.get(column, "").strip():
                    assertion = assertion_from_string(row[column], line)
                    self.check_assertion(reader, assertion, line, name)
                    assertions.append(assertion)
            threshold = None
            if row.get("__threshold", "").strip():
                try:
                    threshold = float(row["__threshold"])
                except ValueError:
                    reader.problem(line, "__threshold", f"in {name}: not a number: "
                                                        f"{row['__threshold']!r}")
            variables = {key: value for key, value in row.items() if not key.startswith("__")}
            self.tests.append((SuiteTest(description=description, vars=variables,
                                         assertions=tuple(assertions), threshold=threshold,
                                         line=line, source=reader.source), name, reader))

    def default_test(self, reader: SuiteReader, node: Any, line: int | None):
        """defaultTest's vars, assertions, threshold, judge and where the judge is named."""
        if isinstance(node, str) and node.startswith(FILE):
            loaded = reader.load(node, line, "defaultTest")
            node, reader, line = (loaded[0], loaded[1], 1) if loaded else (None, reader, line)
        if node is None:
            return {}, (), None, None, None
        if not isinstance(node, LinedMap):
            reader.problem(line, "defaultTest", "must be a mapping (vars, assert, threshold, "
                                                "options)")
            return {}, (), None, None, None
        reader.unsupported(node, DEFAULT_TEST_KEYS, "in defaultTest")
        judge = judge_at = None
        options = node.get("options")
        self.default_options = read_options(reader, options, node.line_of("options"),
                                            "defaultTest", DEFAULT_TEST_OPTIONS)
        if isinstance(options, LinedMap):
            judge = judge_reference(reader, options.get("provider"),
                                        options.line_of("provider"))
            judge_at = (reader.source, options.line_of("provider"))
        return (self.vars(reader, node.get("vars"), node.line_of("vars"), "defaultTest"),
                self.assertions(reader, node.get("assert"), node.line_of("assert"),
                                "defaultTest"),
                threshold_of(reader, node, "defaultTest"), judge, judge_at)

    def vars(self, reader: SuiteReader, node: Any, line: int | None, name: str) -> dict[str, str]:
        if node is None:
            return {}
        if not isinstance(node, LinedMap):
            reader.problem(line, "vars", f"in {name}: must be a mapping of names to texts "
                                         "(vars files are not supported)")
            return {}
        values = {}
        for key, value in node.items():
            key_line = node.line_of(key)
            if isinstance(value, bool):
                values[str(key)] = "true" if value else "false"
            elif isinstance(value, str) and value.startswith(FILE):
                found = reader.read(value, key_line, str(key))
                if found is not None:
                    values[str(key)] = found[0]
            elif isinstance(value, (list, dict)) or value is None:
                reader.problem(key_line, str(key), f"in {name}: " + (
                    "the variable has no value" if value is None else "a variable takes one "
                    "text (promptfoo's expansion of a list into several tests is not supported)"))
                values[str(key)] = ""  # reported once: not again as a missing variable
            else:
                values[str(key)] = str(value)
        return values

    def assertions(self, reader: SuiteReader, node: Any, line: int | None,
                   name: str) -> tuple[Assertion, ...]:
        if node is None:
            return ()
        if not isinstance(node, LinedSeq):
            reader.problem(line, "assert", f"in {name}: must be a list of assertions")
            return ()
        assertions = []
        for item, item_line in zip(node, node.item_lines):
            if not isinstance(item, LinedMap) or not isinstance(item.get("type"), str):
                reader.problem(item_line, "assert", f"in {name}: an assertion is a mapping "
                                                    "with a type (and usually a value)")
                continue
            if item["type"] == ASSERT_SET:  # assert_set.py
                assertion = read_set(self.assertions, reader, item, item_line, name)
                self.check_assertion(reader, assertion, item_line, name)
                assertions.append(assertion)
                continue
            reader.unsupported(item, ASSERT_KEYS, "in an assertion")
            weight = item.get("weight", 1.0)
            if not is_number(weight):
                reader.problem(item.line_of("weight"), "weight", f"in {name}: not a number")
                weight = 1.0
            metric = text_of(reader, item.get("metric"), item.line_of("metric"), "metric")
            assertion = Assertion.parse(
                item["type"], value=plain(item.get("value")), weight=float(weight),
                threshold=threshold_of(reader, item, name),
                provider=judge_reference(reader, item.get("provider"),
                                             item.line_of("provider")),
                metric=metric, line=item_line,
                transform=text_of(reader, item.get("transform"), item.line_of("transform"),
                                  "transform"))
            self.check_assertion(reader, assertion, item_line, name)
            assertions.append(assertion)
        return tuple(assertions)

    def check_assertion(self, reader: SuiteReader, assertion: Assertion, line: int | None,
                        name: str) -> None:
        if isinstance(assertion.value, str) and assertion.value.startswith(FILE):
            problem = "file:// values are not read in assertions; write the value inline"
        else:
            problem = assertion_problem(assertion, scorers=self.scorers, filters=self.filters)
        if problem:
            reader.problem(line, "assert", f"in {name}: {problem}")

    def check_variables(self, prompts: list[SuitePrompt], default_vars: dict[str, str],
                        retrieved: bool = False) -> None:
        """A test that gives no value for a prompt's {{variable}} is a typo, said up front
        (``retrieved``: a provider's retrieval fills {{context}}; the others leave it empty)."""
        for test, name, reader in self.tests:
            if {**self.default_options, **test.options}.get("transformVars"):
                continue  # it may give more: the preflight renders with what it gives
            given = {**default_vars, **test.vars}
            if retrieved:
                given.setdefault(CONTEXT_VARIABLE, "")
            for prompt in prompts:
                missing = [v for v in dict.fromkeys(VARIABLE.findall(prompt.user_template))
                           if v not in given]
                if missing:
                    names = ", ".join("{{" + v + "}}" for v in missing)
                    reader.problem(test.line, "vars", f"{name} gives no value for {names}, "
                                                      f"used by prompt '{short(prompt.label)}' "
                                                      "(promptfoo renders it empty; an empty "
                                                      "one is written \"\")")

