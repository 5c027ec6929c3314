"""A small evaluated run with every kind of row an export meets, built with fixed ids and
times so that two builds give the same files byte for byte: three variants × four cases × two
repeats, a generation error, a cell generated again (its first verdict no longer counts), a
branch, rubric scores with the user's stars (the judge's agreement), pairwise preferences (the
ranking; one between two outputs of one variant, ignored), variables, descriptions, a case
threshold, and texts with commas, quotes, newlines and non-ASCII letters.

``tests/services/golden_exports/`` holds the files the exporters wrote for this run before
they streamed (tests/services/test_export_golden.py compares against them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workbench.core.cases import CaseSet, TestCase
from workbench.core.evaluation import (
    Assertion,
    AssertionResult,
    CaseVerdict,
    EvalResult,
    EvalRun,
    combine,
)
from workbench.core.prompts import Prompt, PromptVersion
from workbench.core.ratings import Preference, Rating
from workbench.core.runs import Output, Run, RunStatus, Variant
from workbench.core.sampling import SamplingSettings
from workbench.core.sessions import Session
from workbench.store import Store

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CONTAINS = Assertion("contains", "cheval")
SHORT = Assertion("max-length", 40, metric="short")
RUBRIC = Assertion("llm-rubric", "answers in French", provider="judge.gguf")
GOLDEN_SUITE = """description: Golden export
prompts: ["Translate: {{word}}"]
providers:
  - id: smol
    label: smol
tests:
  - vars: {word: horse}
"""


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def fixed_id(kind: str, number: int) -> str:
    return f"{kind}-{number:04d}-0000-0000-000000000000"[:36]


def _verdict(output_number: int, variant: int, case: int, text: str):
    contains = "cheval" in text
    results = [AssertionResult(CONTAINS, contains, float(contains),
                               "" if contains else "does not contain 'cheval'"),
               AssertionResult(SHORT, len(text) <= 40, 1.0 if len(text) <= 40 else 0.0)]
    if case != 1:  # an assertion some cases lack: its label appears late in the order
        score = ((output_number * 37) % 10) / 10
        results.insert(0 if variant == 2 else 2,
                       AssertionResult(RUBRIC, score >= 0.5, score, f"graded {score:.1f}"))
    return combine(results, threshold=0.5 if case == 3 else None)


def build_golden_run(store: Store, *, cases_count: int = 4, repeats: int = 2) -> Run:
    """The run, stored and checked; returns it as the store reads it back."""
    session = store.sessions.add(Session("Golden", id=fixed_id("sess", 1), created_at=at(0)))
    prompt = store.prompts.add_prompt(Prompt(session.id, "translate", id=fixed_id("prom", 1),
                                             created_at=at(0)))
    versions = [store.prompts.save_version(PromptVersion(
        prompt.id, system, user_template="Translate: {{word}}", id=fixed_id("vers", n),
        created_at=at(n)))
        for n, system in enumerate(("You translate.", "Réponds en français, un mot."), 1)]
    case_set_id = fixed_id("cset", 1)
    words = ["horse", "bird, small", 'say "hi"', "line\nbreak", "cat", "dog"]
    cases = tuple(TestCase(case_set_id, {"word": words[n % len(words)], "n": str(n)},
                           expected="cheval", id=fixed_id("case", n),
                           assertions=(CONTAINS, SHORT) + ((RUBRIC,) if n != 1 else ()),
                           threshold=0.5 if n == 3 else None,
                           description="the horse" if n == 0 else "")
                  for n in range(cases_count))
    store.case_sets.save(CaseSet(session.id, "animals", cases=cases, id=case_set_id,
                                 created_at=at(0)))
    run_id = fixed_id("run0", 1)
    variants = tuple(Variant(run_id, versions[min(n, 1)].id, f"/models/m{n}.gguf",
                             SamplingSettings(temperature=0.0, seed=42), label=f"v{n + 1}",
                             position=n, id=fixed_id("vari", n), model_sha256="ab" * 32)
                     for n in range(3))
    store.runs.add(Run(session.id, "golden run", case_set_id, RunStatus.DONE, variants,
                       id=run_id, created_at=at(1), finished_at=at(900)))
    suite = store.evaluations.add_suite(_suite(session.id, case_set_id))
    store.evaluations.add_eval_run(EvalRun(run_id, suite.id, repeats, 0.6, created_at=at(1)))
    outputs, results = _cells(run_id, variants, cases, repeats)
    with store.transaction():
        for output in outputs:
            store.runs.add_output(output)
    store.evaluations.add_results(results)
    _again_and_branch(store, run_id, outputs, results)
    _opinions(store, outputs)
    return store.runs.get(run_id)


def _suite(session_id: str, case_set_id: str):
    from workbench.core.suites import StoredSuite
    return StoredSuite(session_id=session_id, case_set_id=case_set_id, name="Golden export",
                       source_path="/suites/golden.yaml", yaml_text=GOLDEN_SUITE,
                       id=fixed_id("suit", 1), created_at=at(0))


def _cells(run_id, variants, cases, repeats):
    outputs, results = [], []
    number = 0
    for variant_number, variant in enumerate(variants):
        for case_number, case in enumerate(cases):
            for repeat in range(repeats):
                number += 1
                failed = variant_number == 1 and case_number == 2 and repeat == 1
                text = ("" if failed else
                        f"Le mot «{case.variables['word']}» est cheval, n°{number}"
                        if (number + variant_number) % 3 else f"un, \"deux\"\ntrois {number}")
                output = Output(run_id, variant.id, case.id, text, token_count=number,
                                prompt_tokens=40 + number, time_to_first_token_s=0.01 * number,
                                tokens_per_second=100.0 + number, total_s=0.5 + number / 8,
                                finish_reason="error" if failed else "stop",
                                sampling=variant.sampling, seed=1000 + number,
                                model_path=variant.model_path,
                                model_sha256=variant.model_sha256,
                                adapter_path="/adapters/fr.gguf" if variant_number == 2 else None,
                                error="the server closed the stream" if failed else None,
                                id=fixed_id("outp", number), created_at=at(10 + number),
                                repeat=repeat, chat_template="{{ messages }}",
                                engine_settings={"n_ctx": 2048})
                verdict = (_verdict(number, variant_number, case_number, text) if not failed
                           else CaseVerdict(False, 0.0, (), "the server closed the stream"))
                outputs.append(output)
                results.append(EvalResult(run_id, output.id, variant.id, case.id, repeat,
                                          verdict, id=fixed_id("resu", number)))
    return outputs, results


def _again_and_branch(store, run_id, outputs, results):
    """The first variant's case-2 repeat-1 cell generated again (now it passes), and a branch
    of the second variant's first cell."""
    first = outputs[3]
    again = store.runs.add_output(Output(
        run_id, first.variant_id, first.case_id, "cheval, encore", token_count=3,
        finish_reason="stop", seed=77, model_path=first.model_path, id=fixed_id("agai", 1),
        created_at=at(500), repeat=first.repeat))
    store.evaluations.add_results([EvalResult(
        run_id, again.id, again.variant_id, again.case_id, again.repeat,
        _verdict(99, 0, 1, again.text), id=fixed_id("resa", 1))])
    parent = outputs[len(outputs) // 3]
    branch = store.runs.add_output(Output(
        run_id, parent.variant_id, parent.case_id, "cheval (branché)", token_count=4,
        finish_reason="stop", model_path=parent.model_path, branch_of=parent.id,
        forced_tokens=(42, 7), id=fixed_id("bran", 1), created_at=at(600),
        repeat=parent.repeat))
    store.evaluations.add_results([EvalResult(
        run_id, branch.id, branch.variant_id, branch.case_id, branch.repeat,
        _verdict(98, 1, 0, branch.text), id=fixed_id("resb", 1), branch_of=parent.id)])


def _opinions(store, outputs):
    """The user's stars on some outputs (two on one), a judge's rating, and preferences."""
    for n, output in enumerate(outputs[::3]):
        store.ratings.rate(Rating(output.id, 1 + n % 5, rater="ana", id=fixed_id("rate", n),
                                  created_at=at(700 + n)))
    store.ratings.rate(Rating(outputs[0].id, 2, rater="ben", id=fixed_id("rate", 90),
                              created_at=at(790)))
    store.ratings.rate(Rating(outputs[2].id, 4, rater="judge:judge.gguf",
                              id=fixed_id("rate", 91), created_at=at(791)))
    third = len(outputs) // 3
    pairs = [(0, third, "a"), (1, third + 1, "b"), (2, 2 * third + 2, "tie"),
             (third + 3, 2 * third + 3, "a"), (4, 2 * third + 4, "b"), (0, 1, "a")]
    for n, (a, b, winner) in enumerate(pairs):
        store.ratings.prefer(Preference(outputs[a].id, outputs[b].id, winner, rater="ana",
                                        id=fixed_id("pref", n), created_at=at(800 + n)))
