"""Everything about a suite that can be known before anything is generated, found at once.

A suite's problems used to surface one kind at a time: the file's, then (after a fix) an
unknown plugin scorer, then a judge that is not there, then — once a session was stored and
cells ran — a server where nothing listens and a template that cannot render for some cases.
The preflight finds them together and names each with its file and line:

- every assertion usable as written, plugin scorer and filter names included, and a reference
  answer where a check compares with one;
- every model reference resolved: a library name or file; a remote one (``openai+http://…``)
  asked by its backend within ``PROBE_TIMEOUT_S`` (``GET /v1/models``), all at once;
- every judge a model-graded assertion uses, the same way;
- every retrieval's document set (``suite_retrieval``);
- every prompt rendered for every case, as the run will render it (the variant's retrieval
  filled with a placeholder passage, so only the template's own errors are reported); each
  distinct failure once, with the prompt's line and the cases it affects.

``check_file`` joins a file's reading problems to these, so one ``SuiteError`` lists all.
Nothing is stored and nothing is loaded: a model file is found, not opened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from ...core.cases import CaseSet, TestCase
from ...core.composition import undefined_variables
from ...core.errors import WorkbenchError
from ...core.evaluation import Assertion
from ...core.prompts import VARIABLE, PromptVersion
from ...core.retrieval import RetrievalSettings, Retrieved
from ...core.retrieved_context import CONTEXT_VARIABLE, compose
from ...core.suites import Suite, SuiteError, SuiteProblem, SuitePrompt, SuiteProvider, SuiteTest
from ...plugins.manager import PluginManager
from ..models import ModelService
from ..retrieval_context import CaseRetriever
from .assert_set import flat
from .check_values import CheckValueError, rendered, variables_of
from .javascript import CaseVariables, suite_variables
from .preflight_words import listed as _listed
from .preflight_words import test_name as _test_name
from .preflight_words import tests_phrase
from .similar import SIMILAR_TYPES
from .suite_file import read_suite
from .suite_providers import completion_problems, unknown_id_hint, with_hint
from .suite_retrieval import retrieval_of, retrieval_problems
from .suite_session import providers_for
from .suite_yaml import short
from .validation import assertion_problem

PROBE_TIMEOUT_S = 3.0  # how long a remote server has to list its models
REFERENCE_TYPES = ("rouge-l", "levenshtein")  # compare with a value or the test's expected
# What a variant with retrieval puts into {{ context }} while its prompts are tried.
PLACEHOLDER = Retrieved(chunk_id=0, document_id="", source="", title="a retrieved passage",
                        position=0, text="Text retrieved for this case.", score=0.0, rank=1)


class Preflight:
    """The checks, given what they consult: the models, the plugins' names and backends, the
    retrieval lab (``retrieval``: a function that gives the RetrievalService, asked only when
    a provider retrieves)."""

    def __init__(self, models: ModelService, plugins: PluginManager | None = None,
                 retrieval: Callable[[], object] | None = None,
                 probe_timeout_s: float = PROBE_TIMEOUT_S):
        self.models, self.plugins, self.retrieval = models, plugins, retrieval
        self.probe_timeout_s = probe_timeout_s

    def plugin_names(self) -> tuple[set[str] | None, set[str] | None]:
        """The scorers and output filters plugins registered (None: no plugins, not checked)."""
        if self.plugins is None:
            return None, None
        return ({s.name for _, s in self.plugins.contributions("register_scorers")},
                {f.name for _, f in self.plugins.contributions("register_output_filters")})

    def check(self, suite: Suite, models: list[str] | None = None,
              model_config: dict | None = None, *, known: Sequence[SuiteProblem] = (),
              need_models: bool = True) -> None:
        """Raise one ``SuiteError`` with ``known`` (the file's reading problems) and every
        problem found here, in reading order; nothing when there are none."""
        problems = self.problems(suite, models, model_config, known=known,
                                 need_models=need_models)
        if problems:
            raise SuiteError(problems)

    def problems(self, suite: Suite, models: list[str] | None = None,
                 model_config: dict | None = None, *, known: Sequence[SuiteProblem] = (),
                 need_models: bool = True) -> list[SuiteProblem]:
        """``models``/``model_config``: ``-m`` (they replace the suite's providers);
        ``need_models``: the models must be there now — a suite without providers and without
        ``-m``, a model, judge, server or document set that cannot be found are problems (not
        on import: the window picks the models later, and ``model_notices`` says what is
        missing without refusing the file)."""
        known = list(known)
        keys = {problem.key for problem in known}
        found: list[SuiteProblem] = []
        try:
            providers = providers_for(suite, models, model_config)
        except SuiteError as error:
            providers = []
            if need_models and "providers" not in keys:
                found += error.problems
        found += self.assertion_problems(suite)
        if need_models:
            found += self.model_notices(suite, providers, from_options=bool(models))
        found += completion_problems(suite, providers)
        found += render_problems(suite, providers, parsed=bool(known))
        found += value_problems(suite)
        if not suite.prompts and "prompts" not in keys:
            found.append(SuiteProblem(suite.source, None, "prompts", "the suite has none"))
        if not suite.tests and "tests" not in keys:
            found.append(SuiteProblem(suite.source, None, "tests", "the suite has none"))
        seen = set(known)
        new = [p for p in dict.fromkeys(found) if p not in seen]
        return in_reading_order(known + new, suite.source)

    def model_notices(self, suite: Suite, providers: list[SuiteProvider] | None = None,
                      from_options: bool = False) -> list[SuiteProblem]:
        """What the suite names that is not there now: models, judges, servers, document
        sets (``providers``: the suite's own when None)."""
        if providers is None:
            providers = list(suite.providers)
        found = self.model_problems(suite, providers, from_options=from_options)
        if self.retrieval is not None and any(retrieval_of(p).active for p in providers):
            found += retrieval_problems(self.retrieval(), providers, suite.source)
        return found

    # -- assertions ------------------------------------------------------------------------

    def assertion_problems(self, suite: Suite) -> list[SuiteProblem]:
        """Each assertion as written (said as the file reader says it, so a problem both
        find is said once), and each check that needs a reference answer the tests lack."""
        scorers, filters = self.plugin_names()
        problems = []
        for name, source, assertions in _assertion_groups(suite):
            for assertion in assertions:
                problem = assertion_problem(assertion, scorers=scorers, filters=filters)
                if problem is None and assertion.model_graded \
                        and not (assertion.provider or suite.judge):
                    problem = (f"{assertion.name} needs a judge model: set its provider or "
                               "defaultTest.options.provider")
                if problem:
                    problems.append(SuiteProblem(source, assertion.line, "assert",
                                                 f"in {name}: {problem}"))
        for number, test in enumerate(suite.tests, 1):
            if test.expected not in (None, ""):
                continue
            for assertion in flat(test.assertions):
                problem = _reference_problem(assertion)
                if problem:
                    problems.append(SuiteProblem(test.source or suite.source, assertion.line,
                                                 "assert",
                                                 f"in {_test_name(test, number)}: {problem}"))
        for assertion in flat(suite.default_assertions):
            problem = _reference_problem(assertion)
            lacking = [number for number, test in enumerate(suite.tests, 1)
                       if test.expected in (None, "")]
            if problem and lacking:
                problems.append(SuiteProblem(suite.source, assertion.line, "assert",
                                             f"in defaultTest: {problem} — "
                                             f"{tests_phrase(suite, lacking)}"))
        return problems

    # -- models and judges -----------------------------------------------------------------

    def model_problems(self, suite: Suite, providers: list[SuiteProvider],
                       from_options: bool = False) -> list[SuiteProblem]:
        """Each provider's model and each judge in use, resolved; remote ones asked, all at
        once, with a short timeout. ``from_options``: the providers are ``-m``'s."""
        judges = _judges_in_use(suite)
        embedders = _embedders_in_use(suite)
        references = [p.id for p in providers] + list(judges) + list(embedders)
        answers = self._answers(references)
        problems = []
        for provider in providers:
            problem = with_hint(provider, answers.get(provider.id))
            if problem:
                key = "-m" if from_options else "providers"
                problems.append(SuiteProblem(suite.source, provider.line, key, problem))
        for reference, uses in judges.items():
            problem = answers.get(reference)
            if not problem:
                continue
            first = uses[0]
            text = f"the judge model '{reference}' cannot be used: {problem}"
            if len(uses) == 1 and first.who:
                text = f"in {first.who}: {text}"
            elif len(uses) > 1:
                text += f" — named in {_listed([use.who or use.key for use in uses])}"
            problems.append(SuiteProblem(first.source, first.line, first.key, text))
        for reference, uses in embedders.items():  # similar's provider
            problem = answers.get(reference)
            if problem:
                problems += [SuiteProblem(use.source, use.line, use.key,
                                          f"in {use.who}: the embedding model '{reference}' "
                                          f"cannot be used: {problem}") for use in uses]
        return problems

    def model_problem(self, reference: str) -> str | None:
        """What stops ``reference`` (a library name, a GGUF path, ``scheme+…``) from being
        used, or None."""
        return self._answers([reference]).get(reference)

    def _answers(self, references: Iterable[str]) -> dict[str, str | None]:
        references = list(dict.fromkeys(references))
        remote = [r for r in references if _is_remote_form(r)]
        answers: dict[str, str | None] = {}
        for reference in references:
            if reference not in remote:
                answers[reference] = self._local_problem(reference)
        if remote:
            with ThreadPoolExecutor(max_workers=min(8, len(remote)),
                                    thread_name_prefix="preflight") as pool:
                asked = pool.map(self._remote_problem, remote)
                answers.update(zip(remote, asked))
        return answers

    def _remote_problem(self, reference: str) -> str | None:
        if not self.models.is_remote(reference):
            scheme = reference.split("+", 1)[0]
            return f"no plugin serves '{scheme}+' models ({reference})"
        return self.models.remote_problem(reference, self.probe_timeout_s)

    def _local_problem(self, reference: str) -> str | None:
        try:
            self.models.resolve(reference)
        except WorkbenchError as error:  # "vendor:model" gets the provider ids a suite can use
            return f"{str(error).rstrip()}{unknown_id_hint(reference)}"
        return None


def preflight_for(service) -> Preflight:
    """The preflight an ``EvalService`` runs (its models, plugins and retrieval lab)."""
    return Preflight(service.models, service.plugins, service.runs.retrieval_service)


def check_file(path: str | Path, preflight: Preflight, *, models: list[str] | None = None,
               model_config: dict | None = None, need_models: bool = True) -> Suite:
    """The suite in the file at ``path``, when it can run: otherwise one ``SuiteError`` with
    the file's problems and, checked on what could be read, everything the preflight finds."""
    scorers, filters = preflight.plugin_names()
    tables = {} if preflight.plugins is None else {"read_table": preflight.plugins.read_table}
    suite, problems = read_suite(path, scorers=scorers, filters=filters, **tables)
    if suite is None:
        raise SuiteError(problems)
    preflight.check(suite, models, model_config, known=problems, need_models=need_models)
    return suite


# -- check values ----------------------------------------------------------------------------

def value_problems(suite: Suite) -> list[SuiteProblem]:
    """Every check's value rendered for every test it applies to (check_values.py: a
    variable the test does not define, a value still holding ``{{`` after rendering), at the
    check's line: a test's own with the test's name, a defaultTest check once per distinct
    failure with the tests it affects. A test whose transformVars fails is left to
    ``render_problems``, which says so."""
    problems = []
    defaults: dict[tuple[int, str], list[int]] = defaultdict(list)
    checks = [a for a in flat(suite.default_assertions) if a.type != "select-best"]
    for number, (test, effective) in enumerate(zip(suite.tests, suite.effective_tests()), 1):
        variables, failure = suite_variables(effective)
        if failure is not None:
            continue
        variables = variables_of(variables, test.expected)
        for assertion in flat(test.assertions):
            problem = None if assertion.type == "select-best" else \
                _value_problem(assertion, variables)
            if problem:
                problems.append(SuiteProblem(test.source or suite.source, assertion.line,
                                             "assert", f"in {_test_name(test, number)}: "
                                                       f"{assertion.name}: {problem}"))
        for position, assertion in enumerate(checks):
            problem = _value_problem(assertion, variables)
            if problem:
                defaults[(position, problem)].append(number)
    for (position, problem), numbers in defaults.items():
        assertion = checks[position]
        problems.append(SuiteProblem(suite.source, assertion.line, "assert",
                                     f"in defaultTest: {assertion.name}: {problem} — "
                                     f"{tests_phrase(suite, numbers)}"))
    return problems


def case_value_problems(case_set: CaseSet, cases: Sequence[TestCase] | None = None
                        ) -> list[str]:
    """The window's checks, as ``value_problems`` checks a suite's: each check whose value
    cannot be rendered for some case, one sentence per check and failure naming the check
    (an every-case check, or the case's own) and the cases (numbered as the cases table
    numbers them)."""
    cases = list(case_set.cases if cases is None else cases)
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    transformed = CaseVariables()
    for case in cases:
        try:
            variables = transformed.of(case)
        except WorkbenchError:
            continue  # its transformVars fails: its cells say so when they run
        variables = variables_of(variables, case.expected)
        own = {id(a) for a in flat(case.assertions)}
        for assertion in flat(case_set.assertions_for(case)):
            if assertion.type == "select-best":
                continue
            problem = _value_problem(assertion, variables)
            if problem:
                where = "case's own" if id(assertion) in own else "every-case"
                found[(f"The {where} check '{assertion.label}'", problem)].append(
                    case.position + 1)
    return [f"{check} cannot run on {_cases_phrase(numbers, len(cases))}: {problem}."
            for (check, problem), numbers in found.items()]


def _value_problem(assertion: Assertion, variables: dict) -> str | None:
    """Why the assertion's value cannot be used for these variables: it cannot be rendered
    (check_values.py), or what it renders to is no valid value (a regex that does not
    compile, JavaScript with a syntax error: validation.py waits for the rendered value)."""
    try:
        checked = rendered(assertion, variables)
    except CheckValueError as error:
        return str(error)
    problem = None if checked is assertion else assertion_problem(checked)
    return f"once rendered, {problem}" if problem else None


def _cases_phrase(numbers: Sequence[int], count: int) -> str:
    if len(numbers) == count > 1:
        return "every case"
    return f"case{'s' if len(numbers) > 1 else ''} {_listed([str(n) for n in numbers])}"


# -- rendering -------------------------------------------------------------------------------

def render_problems(suite: Suite, providers: Sequence[SuiteProvider], *,
                    parsed: bool = False) -> list[SuiteProblem]:
    """Every prompt rendered for every test under each retrieval its variants use; a failure
    said once per prompt with the tests it affects. ``parsed``: the file reader's problems
    come along, and it already named each test that gives no value for a ``{{variable}}``."""
    settings = list(dict.fromkeys(retrieval_of(p) for p in providers)) or [RetrievalSettings()]
    retriever = CaseRetriever(None, _Placeholder())
    configured = any("retrieval" in p.config for p in suite.providers)
    problems = []
    tests, failed = [], set()
    for index, test in enumerate(suite.effective_tests(), 1):  # javascript.py: transformVars
        variables, failure = suite_variables(test)
        if failure is not None:
            failed.add(index)
        if failure:
            problems.append(SuiteProblem(test.source or suite.source, test.line, "options",
                                         f"in {_test_name(test, index)}: {failure}"))
        tests.append(replace(test, vars=variables))
    for number, prompt in enumerate(suite.prompts, 1):
        version = PromptVersion("preflight", system_prompt=prompt.system,
                                examples=prompt.examples, user_template=prompt.user_template)
        failures: dict[str, list[int]] = defaultdict(list)
        for index, test in enumerate(tests, 1):
            if index in failed or parsed and not test.options.get("transformVars") \
                    and _named_by_reader(prompt, test, configured):
                continue
            for retrieval in settings:
                message = _render_failure(retriever, retrieval, version, test.vars)
                if message is not None:
                    if index not in failures[message]:
                        failures[message].append(index)
                    break
        label = f"prompt {number}" if prompt.label == prompt.user_template else \
            f"prompt {number} ('{short(prompt.label)}')"
        for message, numbers in failures.items():
            problems.append(SuiteProblem(suite.source, prompt.line, "prompts",
                                         f"{label}: {message.rstrip('.')} — "
                                         f"{tests_phrase(suite, numbers)}"))
    return problems


def _render_failure(retriever: CaseRetriever, retrieval: RetrievalSettings,
                    version: PromptVersion, variables: dict[str, str]) -> str | None:
    try:
        context = retriever.context_for(retrieval, variables, version.user_template)
        unfilled = _unfilled(version.user_template, context.variables)
        if unfilled:  # said shortly: the same words for every test it affects
            return unfilled
        compose(version, context.variables)
    except WorkbenchError as error:
        return str(error)
    return None


def _unfilled(template: str, variables: dict[str, str]) -> str | None:
    """``'topic' is undefined``, ``'a', 'b' are undefined``: the variables a template uses
    that the case does not define (``compose`` refuses them; an empty value renders empty, as
    in promptfoo, which renders an undefined one empty too), or None."""
    undefined = [name for name in undefined_variables(template, variables)
                 if name != CONTEXT_VARIABLE]
    if not undefined:
        return None
    return (f"{', '.join(repr(n) for n in undefined)} "
            f"{'is' if len(undefined) == 1 else 'are'} undefined")


def _named_by_reader(prompt: SuitePrompt, test: SuiteTest, retrieval: bool) -> bool:
    """The file reader's own check: a ``{{variable}}`` the test gives no value for."""
    given = set(test.vars) | ({CONTEXT_VARIABLE} if retrieval else set())
    return any(name not in given for name in VARIABLE.findall(prompt.user_template))


class _Placeholder:
    """A retrieval lab whose every search finds one placeholder passage."""

    def search(self, *_args, **_options) -> list[Retrieved]:
        return [PLACEHOLDER]


# -- helpers ---------------------------------------------------------------------------------

def _assertion_groups(suite: Suite):
    """Where assertions are written, with them (an assert-set's own after it)."""
    yield "defaultTest", suite.source, tuple(flat(suite.default_assertions))
    for number, test in enumerate(suite.tests, 1):
        yield (_test_name(test, number), test.source or suite.source,
               tuple(flat(test.assertions)))


def _reference_problem(assertion: Assertion) -> str | None:
    if assertion.type in REFERENCE_TYPES and assertion.value in (None, ""):
        return (f"{assertion.name} needs a reference: a value, or an expected answer on the "
                "test")
    if assertion.type == "likelihood":
        return "likelihood scores the test's expected answer, and the test has none"
    return None


@dataclass(frozen=True)
class _Named:
    """Where a judge is named: file, line, the key it is under, and by whom."""

    source: str
    line: int | None
    key: str
    who: str  # 'test "japan"', "test 3", "defaultTest" ("": the key says it)


def _judges_in_use(suite: Suite) -> dict[str, list[_Named]]:
    """Each judge a model-graded assertion uses -> where it is named, in reading order: the
    assertion's own ``provider``, else (once) ``defaultTest.options.provider``."""
    judges: dict[str, list[_Named]] = {}
    source, line = suite.judge_at or (suite.source, None)
    default = _Named(source, line, "defaultTest.options.provider", "")
    for name, source, assertions in _assertion_groups(suite):
        for assertion in assertions:
            if assertion.model_graded and assertion.provider:
                judges.setdefault(assertion.provider, []).append(
                    _Named(source, assertion.line, "assert", name))
            elif assertion.model_graded and suite.judge:
                uses = judges.setdefault(suite.judge, [])
                if default not in uses:
                    uses.append(default)
    return judges


def _embedders_in_use(suite: Suite) -> dict[str, list[_Named]]:
    """Each embedding model a ``similar`` assertion names -> where (without one it uses the
    bundled model, which is always there)."""
    embedders: dict[str, list[_Named]] = {}
    for name, source, assertions in _assertion_groups(suite):
        for assertion in assertions:
            if assertion.type in SIMILAR_TYPES and assertion.provider:
                embedders.setdefault(assertion.provider, []).append(
                    _Named(source, assertion.line, "assert", name))
    return embedders


def _is_remote_form(reference: str) -> bool:
    """``scheme+…://`` (the backend's to judge), as opposed to a library name or a path."""
    return "://" in reference and "+" in reference.split("://", 1)[0]


def in_reading_order(problems: list[SuiteProblem], first: str) -> list[SuiteProblem]:
    """The suite's file first, then the others in the order they come up; by line in each."""
    files = list(dict.fromkeys([first, *(p.source for p in problems)]))
    return sorted(problems, key=lambda p: (files.index(p.source), p.line or 0))
