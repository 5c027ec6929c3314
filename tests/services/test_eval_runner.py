"""The evaluation engine through its service, in-process: a suite run stored as a session,
select-best judged pairwise into preferences and a ranking, re-checking after an edit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from workbench.core.evaluation import Assertion
from workbench.core.runs import RunStatus
from workbench.core.suites import Suite, SuiteError, SuitePrompt, SuiteProvider, SuiteTest
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.compare import RunService
from workbench.services.evaluation.eval_service import EvalService, report_for_run
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins
from workbench.services.sessions import open_store


@pytest.fixture
def service(workbench_home, bundled_model):
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models)
    yield EvalService(store, models, RunService(store, models, plugins), plugins)
    models.close()
    store.close()


def greedy(label: str, tokens: int = 16) -> SuiteProvider:
    return SuiteProvider(BUNDLED_NAME, label, {"temperature": 0, "max_tokens": tokens})


def test_a_suite_run_is_stored_with_a_verdict_per_output(service):
    suite = Suite(
        description="colours",
        prompts=(SuitePrompt("ask", "Name a colour like {{c}}."),),
        providers=(greedy("short", 3), greedy("long", 24)),
        tests=tuple(SuiteTest(c, {"c": c}, (Assertion("max-length", 5000),))
                    for c in ("red", "blue")),
        default_assertions=(Assertion("max-tokens", 3),))
    outcome = service.run_suite(suite, repeats=2)
    assert outcome.status is RunStatus.DONE and outcome.errors == 0
    results = service.store.evaluations.results(outcome.run.id)
    assert len(results) == 2 * 2 * 2
    by_label = {v.label: v for v in outcome.report.variants}
    # 3 tokens always fit; 24 greedy tokens of a chatty model do not
    assert by_label["short"].passed == by_label["short"].total == 4
    assert by_label["long"].passed < 4
    failing = next(r for r in results if not r.passed)
    assert "max-tokens" in failing.verdict.reason
    # the session holds the suite: its cases keep their assertions
    case_set = service.store.case_sets.get(outcome.run.case_set_id)
    assert [c.assertions[0].type for c in case_set.cases] == ["max-length", "max-length"]
    assert case_set.default_assertions == (Assertion("max-tokens", 3),)
    history = service.store.evaluations.history(case_set_id=case_set.id)
    assert [h.run_id for h in history] == [outcome.run.id]
    assert history[0].summary["variants"][0]["total"] == 4
    # nothing of a cell is held while the run goes on (only select-best needs the outputs)
    listener = service.watch(case_set, None)
    listener.ready.set()
    for output in service.store.runs.outputs(outcome.run.id):
        listener.cell_finished(output)
    assert listener.done == 8 and listener.outputs == {} and listener.results == {}


def test_select_best_judges_pairs_into_preferences_and_a_ranking(service):
    suite = Suite(
        prompts=(SuitePrompt("ask", "Describe {{thing}} in one sentence."),),
        providers=(greedy("terse", 6), greedy("full", 20)),
        tests=tuple(SuiteTest(t, {"thing": t}, (Assertion("select-best", "the clearer answer"),))
                    for t in ("the sea", "a cat")),
        judge=BUNDLED_NAME)
    outcome = service.run_suite(suite)
    outputs = service.store.runs.outputs(outcome.run.id)
    case_set = service.store.case_sets.get(outcome.run.case_set_id)
    assert service.watch(case_set, None).keeps_outputs  # select-best compares them at the end
    preferences = service.store.ratings.preferences_for([o.id for o in outputs])
    assert len(preferences) == 2  # one pair per case
    assert all(p.rater == f"judge:{BUNDLED_NAME}" and p.note.strip() for p in preferences)
    assert outcome.report.ranking is not None
    for result in service.store.evaluations.results(outcome.run.id):
        (judged,) = result.verdict.results
        assert judged.assertion.type == "select-best"
    # every pair has a winner or a tie: a loser fails, a winner passes
    winners = {p.output_a_id if p.winner == "a" else p.output_b_id
               for p in preferences if p.winner != "tie"}
    for result in service.store.evaluations.results(outcome.run.id):
        if result.output_id in winners:
            assert result.passed


def test_rechecking_after_an_edit_replaces_the_verdicts(service):
    suite = Suite(prompts=(SuitePrompt("ask", "Say hello to {{name}}."),),
                  providers=(greedy("g"),),
                  tests=(SuiteTest("ann", {"name": "Ann"}, (Assertion("contains", "zzqx"),)),))
    outcome = service.run_suite(suite)
    (before,) = service.store.evaluations.results(outcome.run.id)
    assert not before.passed and "zzqx" in before.verdict.reason
    case_set = service.store.case_sets.get(outcome.run.case_set_id)
    edited = replace(case_set, cases=tuple(
        replace(c, assertions=(Assertion("contains", "zzqx", negate=True),))
        for c in case_set.cases))
    service.store.case_sets.save(edited)
    versions = {v.id: service.store.prompts.version(v.prompt_version_id)
                for v in outcome.run.variants}
    (after,) = service.reevaluate(outcome.run, edited, versions)
    assert after.passed and after.output_id == before.output_id
    (stored,) = service.store.evaluations.results(outcome.run.id)
    assert stored.passed  # replaced, not added beside the old one
    assert report_for_run(service.store, outcome.run.id).variants[0].passed == 1


def test_a_judge_that_cannot_be_found_fails_before_any_generation(service):
    suite = Suite(prompts=(SuitePrompt("ask", "Hi {{x}}"),), providers=(greedy("g"),),
                  tests=(SuiteTest("t", {"x": "a"}, (Assertion("llm-rubric", "is kind"),)),),
                  judge="no-such-judge-model")
    with pytest.raises(Exception, match="no-such-judge-model"):
        service.run_suite(suite)
    without = replace(suite, judge=None)
    with pytest.raises(SuiteError, match="needs a judge model"):
        service.run_suite(without)
    assert service.store.sessions.list() == []  # nothing was stored or generated


def test_a_suite_with_two_prompts_opens_as_one_prompt_with_a_version_each(service):
    """The window shows a session's prompt and its versions, and each variant row names the
    version it runs: both of a suite's prompts must be there, not only the editor's."""
    from workbench.services.evaluation.suite_session import store_suite

    suite = Suite(description="two styles",
                  prompts=(SuitePrompt("plain", "Q: {{q}}"),
                           SuitePrompt("chat", "{{q}}", system="Be brief.")),
                  providers=(greedy("g"),), tests=(SuiteTest("t", {"q": "hi"}),))
    held = store_suite(service.store, suite)
    (line,) = service.store.prompts.prompts(held.session.id)
    history = service.store.prompts.history(line.id)
    assert {v.id for v in history} == {v.id for v in held.versions}
    rows = service.store.session_variants.get(held.session.id)
    assert [r.version for r in rows] == [v.id for v in held.versions]
    assert [v.note.split(" (")[0] for v in held.versions] == ["plain", "chat"]
