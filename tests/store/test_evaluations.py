"""The evaluation lab's storage: assertions on cases, suites, evaluated runs and verdicts, in a
real SQLite file; kept through migrations, session deletion and export/import."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlean

from tests.store.conftest import populate, save_outputs
from tests.store.test_migrations import migrate_to
from workbench.core.cases import CaseSet, TestCase
from workbench.core.errors import NotFoundError, StoreError
from workbench.core.evaluation import (
    Assertion,
    AssertionResult,
    EvalResult,
    EvalRun,
    combine,
    failed_output,
)
from workbench.core.runs import Output, Run, RunStatus
from workbench.core.suites import StoredSuite
from workbench.store import Store
from workbench.store.exchange import export_session, import_session
from workbench.store.revisions import head_revision

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

CASE_ASSERTIONS = (
    Assertion.parse("icontains-any", value=["cheval", "horse"], weight=2.0, metric="animal"),
    Assertion.parse("not-regex", value=r"\bje\b"),
    Assertion("rouge-l", value="le cheval", threshold=0.4),
    Assertion("llm-rubric", value="Is it French?", provider="smol", weight=0.5),
)
DEFAULT_ASSERTIONS = (Assertion("max-length", value=80), Assertion("is-refusal", negate=True))


def with_assertions(store: Store, data) -> CaseSet:
    """The populated case set given defaults, and cases with assertions, a threshold, words."""
    first, second = data.case_set.cases
    case_set = replace(
        data.case_set, default_assertions=DEFAULT_ASSERTIONS, default_threshold=0.75,
        judge="openai+http://127.0.0.1:8080",
        cases=(replace(first, assertions=CASE_ASSERTIONS, threshold=0.6,
                       description="a horse, in French"),
               replace(second, description="no checks, only a description")))
    return store.case_sets.save(case_set)


def failing_verdict():
    """A real verdict: what combine() makes of a few assertion results."""
    results = (AssertionResult(CASE_ASSERTIONS[0], True, 1.0),
               AssertionResult(CASE_ASSERTIONS[1], False, 0.0, "matched 'je'"),
               AssertionResult(CASE_ASSERTIONS[3], True, 0.8, "The judge: mostly French."))
    return combine(results)  # fails: not-regex failed, and no threshold forgives it


def evaluate(store: Store, data, outputs=None) -> list[EvalResult]:
    outputs = data.outputs if outputs is None else outputs
    results = [EvalResult(o.run_id, o.id, o.variant_id, o.case_id, o.repeat, failing_verdict())
               for o in outputs]
    store.evaluations.add_results(results)
    return results


def count(path, table: str) -> int:
    # The store's own SQLite (sqlean): the stdlib's, a second SQLite library in this process,
    # would not see the open store's WAL (docs/storage.md).
    connection = sqlean.connect(path)
    try:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        connection.close()


# -- round trips --------------------------------------------------------------------------

def test_case_assertions_and_set_defaults_come_back_as_saved(store):
    data = populate(store)
    saved = with_assertions(store, data)
    loaded = store.case_sets.get(saved.id)
    assert loaded == saved
    assert loaded.cases[0].assertions[1].negate and loaded.cases[0].assertions[1].name == "not-regex"
    assert loaded.assertions_for(loaded.cases[0]) == DEFAULT_ASSERTIONS + CASE_ASSERTIONS
    assert loaded.threshold_for(loaded.cases[1]) == 0.75
    # Saving again without them removes them (the editor cleared the rows).
    cleared = store.case_sets.save(replace(loaded, default_assertions=(), judge=None,
                                           cases=(replace(loaded.cases[0], assertions=()),)))
    assert store.case_sets.get(saved.id) == cleared
    assert store.case_sets.for_session(data.session.id) == [cleared]


def test_an_outputs_repeat_and_total_time_are_kept(store):
    data = populate(store)
    variant = data.run.variants[0]
    case = data.case_set.cases[0]
    repeats = [Output(data.run.id, variant.id, case.id, f"repeat {i}", seed=100 + i,
                      total_s=0.25 * (i + 1), repeat=i) for i in range(3)]
    store.runs.add_output(repeats[0])
    save_outputs(store, repeats[1:])
    stored = {o.id: o for o in store.runs.outputs(data.run.id)}
    assert [stored[o.id] for o in repeats] == repeats
    assert [stored[o.id].repeat for o in repeats] == [0, 1, 2]
    assert stored[data.outputs[0].id].total_s is None and stored[data.outputs[0].id].repeat == 0


def test_suites_eval_runs_and_verdicts_round_trip(store):
    data = populate(store)
    suite = store.evaluations.add_suite(StoredSuite(
        data.session.id, data.case_set.id, "french", source_path="/suites/french.yaml",
        yaml_text="description: french\ntests: []\n", created_at=T0))
    later = store.evaluations.add_suite(StoredSuite(data.session.id, data.case_set.id, "later"))
    assert store.evaluations.suite(suite.id) == suite
    assert store.evaluations.suites(data.session.id) == [suite, later]
    assert store.evaluations.suites("another session") == []

    eval_run = EvalRun(data.run.id, suite.id, repeats=3, threshold=0.8,
                       summary={"v1": {"passed": 1, "total": 2, "rate": 0.5}})
    store.evaluations.add_eval_run(eval_run)
    assert store.evaluations.eval_run(data.run.id) == eval_run
    results = evaluate(store, data)
    failed = EvalResult(data.run.id, data.outputs[3].id, data.run.variants[1].id,
                        data.outputs[3].case_id, 0, failed_output("the model process ended"))
    store.evaluations.replace_result(failed)
    results[3] = failed
    assert store.evaluations.results(data.run.id) == results
    assert store.evaluations.result_for_output(data.outputs[0].id) == results[0]
    back = store.evaluations.result_for_output(data.outputs[3].id)
    assert (back.passed, back.score, back.verdict.reason) == (False, 0.0,
                                                              "the model process ended")
    assert results[0].verdict.reason == "not-regex: matched 'je'"
    assert store.evaluations.results(data.run.id)[0].verdict.reason == results[0].verdict.reason

    summary = {"v1": {"passed": 2, "total": 2, "rate": 1.0}, "v2": {"passed": 0, "total": 2}}
    assert store.evaluations.set_summary(data.run.id, summary).summary == summary
    assert store.evaluations.eval_run(data.run.id) == replace(eval_run, summary=summary)


def test_what_is_not_there_is_said_plainly(store):
    data = populate(store)
    assert store.evaluations.eval_run(data.run.id) is None
    assert store.evaluations.result_for_output(data.outputs[0].id) is None
    assert store.evaluations.results(data.run.id) == []
    with pytest.raises(NotFoundError, match="No evaluation suite with id nope"):
        store.evaluations.suite("nope")
    with pytest.raises(NotFoundError, match=f"No evaluation recorded for run {data.run.id}"):
        store.evaluations.set_summary(data.run.id, {})
    with pytest.raises(StoreError, match="refers to run 'no-such-run', which does not exist"):
        store.evaluations.add_eval_run(EvalRun("no-such-run"))
    store.evaluations.add_eval_run(EvalRun(data.run.id))
    with pytest.raises(StoreError, match="already recorded as evaluated"):
        store.evaluations.add_eval_run(EvalRun(data.run.id, repeats=5))
    assert store.evaluations.eval_run(data.run.id).repeats == 1


# -- batches and re-evaluation ------------------------------------------------------------

def many_outputs(store: Store, data, n: int) -> list[Output]:
    variant = data.run.variants[1]
    outputs = [Output(data.run.id, variant.id, data.case_set.cases[i % 2].id, f"answer {i}",
                      repeat=i // 2, total_s=0.01 * i) for i in range(n)]
    save_outputs(store, outputs)
    return outputs


def test_a_thousand_verdicts_in_one_call(store):
    data = populate(store)
    outputs = many_outputs(store, data, 1000)
    results = evaluate(store, data, outputs)
    stored = store.evaluations.results(data.run.id)
    assert stored == results  # in the order the outputs were saved
    assert [r.repeat for r in stored[:4]] == [0, 0, 1, 1]
    assert count(store.db.path, "eval_results") == 1000


@pytest.mark.parametrize(("field", "value", "named"), [
    ("output_id", "no-such-output", "refers to output 'no-such-output', which does not exist"),
    ("run_id", "no-such-run", "refers to run 'no-such-run', which does not exist"),
])
def test_one_bad_verdict_saves_none_of_the_batch(store, field, value, named):
    data = populate(store)
    outputs = many_outputs(store, data, 300)
    results = [EvalResult(o.run_id, o.id, o.variant_id, o.case_id, o.repeat, failing_verdict())
               for o in outputs]
    results[123] = replace(results[123], **{field: value})
    with pytest.raises(StoreError) as caught:
        store.evaluations.add_results(results)
    assert f"verdict {results[123].id} {named}" in str(caught.value)
    assert "Nothing was changed" in str(caught.value)
    assert count(store.db.path, "eval_results") == 0


def test_an_output_has_one_verdict_and_re_evaluation_replaces_it(store):
    data = populate(store)
    first = evaluate(store, data)
    again = EvalResult(data.run.id, data.outputs[1].id, first[1].variant_id, first[1].case_id, 0,
                       failed_output("judge said no"))
    with pytest.raises(StoreError, match=f"output {data.outputs[1].id} already has a verdict"):
        store.evaluations.add_results([again])
    with pytest.raises(StoreError, match="two verdicts for output"):
        store.evaluations.add_results([again, replace(again, id="other")])
    assert store.evaluations.result_for_output(data.outputs[1].id) == first[1]

    store.evaluations.replace_result(again)
    assert store.evaluations.result_for_output(data.outputs[1].id) == again
    assert store.evaluations.results(data.run.id) == [first[0], again, *first[2:]]
    # Replacing an output that had no verdict simply saves it.
    extra = many_outputs(store, data, 1)[0]
    fresh = EvalResult(data.run.id, extra.id, extra.variant_id, extra.case_id, 0,
                       failing_verdict())
    store.evaluations.replace_result(fresh)
    assert store.evaluations.result_for_output(extra.id) == fresh
    # A replacement that cannot be saved keeps the earlier verdict.
    with pytest.raises(StoreError, match="refers to run 'gone'"):
        store.evaluations.replace_result(replace(first[2], run_id="gone", id="new"))
    assert store.evaluations.result_for_output(data.outputs[2].id) == first[2]
    assert count(store.db.path, "eval_results") == 5


# -- history ------------------------------------------------------------------------------

def add_run(store: Store, data, name: str, case_set_id: str | None) -> Run:
    variant = replace(data.run.variants[0], id=f"{name}-variant", run_id=name)
    return store.runs.add(Run(data.session.id, name, case_set_id, RunStatus.DONE, (variant,),
                              id=name))


def test_history_is_a_suites_runs_oldest_first(store):
    data = populate(store)
    suite = store.evaluations.add_suite(StoredSuite(data.session.id, data.case_set.id, "s"))
    other_set = store.case_sets.save(CaseSet(data.session.id, "other", cases=(
        TestCase("", {"word": "cat"}),)))
    other = store.evaluations.add_suite(StoredSuite(data.session.id, other_set.id, "o"))
    # Saved out of time order: history follows the time, not the saving.
    plan = [("third", suite.id, data.case_set.id, T0 + timedelta(hours=2)),
            ("first", suite.id, data.case_set.id, T0),
            ("elsewhere", other.id, other_set.id, T0 + timedelta(hours=1)),
            ("second", suite.id, data.case_set.id, T0 + timedelta(hours=1)),
            ("unsuited", None, data.case_set.id, T0 + timedelta(hours=3)),
            ("same-time", suite.id, data.case_set.id, T0 + timedelta(hours=2))]
    for name, suite_id, case_set_id, when in plan:
        add_run(store, data, name, case_set_id)
        store.evaluations.add_eval_run(EvalRun(name, suite_id, summary={"name": name},
                                               created_at=when))

    def names(runs):
        return [r.run_id for r in runs]

    assert names(store.evaluations.history(suite_id=suite.id)) == [
        "first", "second", "third", "same-time"]
    assert names(store.evaluations.history(case_set_id=data.case_set.id)) == [
        "first", "second", "third", "same-time", "unsuited"]
    assert names(store.evaluations.history(suite_id=other.id)) == ["elsewhere"]
    assert names(store.evaluations.history(suite_id=other.id,
                                           case_set_id=data.case_set.id)) == []
    assert names(store.evaluations.history()) == [
        "first", "elsewhere", "second", "third", "same-time", "unsuited"]
    assert store.evaluations.history(suite_id=suite.id)[0].created_at == T0


# -- deletion -----------------------------------------------------------------------------

EVAL_TABLES = ("eval_suites", "eval_runs", "eval_results")


def test_deleting_a_session_removes_its_evaluations_only(store):
    kept = populate(store, "kept")
    with_assertions(store, kept)
    store.evaluations.add_suite(StoredSuite(kept.session.id, kept.case_set.id, "kept suite"))
    store.evaluations.add_eval_run(EvalRun(kept.run.id))
    evaluate(store, kept)
    gone = populate(store, "gone")
    suite = store.evaluations.add_suite(StoredSuite(gone.session.id, gone.case_set.id, "s"))
    store.evaluations.add_eval_run(EvalRun(gone.run.id, suite.id))
    evaluate(store, gone)
    assert [count(store.db.path, t) for t in EVAL_TABLES] == [2, 2, 8]

    store.sessions.delete(gone.session.id)
    assert [count(store.db.path, t) for t in EVAL_TABLES] == [1, 1, 4]
    assert store.evaluations.suites(gone.session.id) == []
    assert store.evaluations.eval_run(gone.run.id) is None
    assert store.evaluations.results(gone.run.id) == []
    assert len(store.evaluations.results(kept.run.id)) == 4
    assert store.case_sets.get(kept.case_set.id).cases[0].assertions == CASE_ASSERTIONS


# -- migration from 0003 ------------------------------------------------------------------

def test_a_database_at_0003_upgrades_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    migrate_to(path, "0003")
    raw = sqlite3.connect(path)
    when = "'2025-01-01T00:00:00+00:00'"
    raw.executescript(f"""
        PRAGMA foreign_keys = ON;
        INSERT INTO sessions VALUES ('s1', 'Old session', '', {when}, {when});
        INSERT INTO prompts VALUES ('p1', 's1', 'translate', {when});
        INSERT INTO prompt_versions VALUES ('v1', 'p1', 'Translate.', '[]', 'Word: {{{{w}}}}',
            '["w"]', 'hash', NULL, '', {when});
        INSERT INTO case_sets VALUES ('cs1', 's1', 'animals', {when});
        INSERT INTO test_cases VALUES ('c1', 'cs1', 0, '{{"w": "horse"}}', 'cheval');
        INSERT INTO runs VALUES ('r1', 's1', 'old run', 'cs1', 'done', {when}, {when});
        INSERT INTO variants VALUES ('va1', 'r1', 0, 'greedy', 'v1', '/m.gguf', NULL, '{{}}',
            NULL, 1.0, '{{}}');
        INSERT INTO outputs (id, run_id, variant_id, case_id, text, token_count, prompt_tokens,
            finish_reason, sampling, model_path, engine_settings, created_at)
            VALUES ('o1', 'r1', 'va1', 'c1', 'un cheval galopant', 3, 9, 'stop', '{{}}',
            '/m.gguf', '{{}}', {when});
        INSERT INTO ratings VALUES ('ra1', 'o1', 4, 'ana', 0, '', {when});
    """)
    raw.commit()
    raw.close()

    store = Store.open(path)
    assert store.db.revision() == head_revision()
    assert list(tmp_path.glob("old.backup-r0003-*.sqlite3"))  # taken before migrating
    case_set = store.case_sets.get("cs1")
    case = case_set.cases[0]
    assert (case.variables, case.expected) == ({"w": "horse"}, "cheval")
    assert (case.assertions, case.threshold, case.description) == ((), None, "")
    assert (case_set.default_assertions, case_set.default_threshold, case_set.judge) == (
        (), None, None)
    output = store.runs.output("o1")
    assert (output.text, output.repeat, output.total_s) == ("un cheval galopant", 0, None)
    assert [r.score for r in store.ratings.ratings_for(["o1"])] == [4]
    assert [h.ref for h in store.search.search("galopant")] == ["o1"]  # triggers intact

    # The old data takes the new things.
    store.case_sets.save(replace(case_set, cases=(replace(case, assertions=CASE_ASSERTIONS),)))
    assert store.case_sets.get("cs1").cases[0].assertions == CASE_ASSERTIONS
    store.evaluations.add_eval_run(EvalRun("r1"))
    store.evaluations.add_results([EvalResult("r1", "o1", "va1", "c1", 0, failing_verdict())])
    assert store.evaluations.result_for_output("o1").passed is False
    store.close()


# -- export and import --------------------------------------------------------------------

def evaluation_snapshot(store: Store, data) -> dict:
    return {"case_sets": store.case_sets.for_session(data.session.id),
            "outputs": store.runs.outputs(data.run.id),
            "suites": store.evaluations.suites(data.session.id),
            "eval_run": store.evaluations.eval_run(data.run.id),
            "results": store.evaluations.results(data.run.id)}


def test_export_and_import_keep_assertions_and_evaluations(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    with_assertions(source, data)
    source.runs.add_output(Output(data.run.id, data.run.variants[0].id,
                                  data.case_set.cases[0].id, "encore", total_s=1.5, repeat=1))
    source.evaluations.add_suite(StoredSuite(data.session.id, data.case_set.id, "french",
                                             yaml_text="tests: []\n"))
    source.evaluations.add_eval_run(EvalRun(data.run.id, repeats=2, summary={"v1": 0.5}))
    evaluate(source, data)
    file = tmp_path / "session.json.gz"
    counts = export_session(source.db, data.session.id, file)
    assert (counts["eval_suites"], counts["eval_runs"], counts["eval_results"]) == (1, 1, 4)
    expected = evaluation_snapshot(source, data)
    source.close()

    target = Store.open(tmp_path / "b.sqlite3")
    result = import_session(target.db, file)
    assert result.added["eval_results"] == 4
    assert evaluation_snapshot(target, data) == expected
    assert target.case_sets.get(data.case_set.id).cases[0].assertions == CASE_ASSERTIONS
    assert import_session(target.db, file).total_added == 0
    target.close()


def test_an_export_from_before_the_evaluation_lab_still_imports(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    file = tmp_path / "old.json"
    export_session(source.db, data.session.id, file)
    source.close()
    # Make it what the previous version wrote: format 1, none of revision 0004's columns/tables.
    document = json.loads(file.read_text())
    document["format_version"], document["schema_revision"] = 1, "0003"
    tables = document["tables"]
    for name in ("eval_suites", "eval_runs", "eval_results"):
        del tables[name]
    for table, columns in (("test_cases", ("assertions", "threshold", "description")),
                           ("case_sets", ("defaults",)), ("outputs", ("total_s", "repeat"))):
        for record in tables[table]:
            for column in columns:
                del record[column]
    file.write_text(json.dumps(document))

    target = Store.open(tmp_path / "b.sqlite3")
    result = import_session(target.db, file)
    assert result.added["test_cases"] == 2 and result.added["outputs"] == 4
    assert target.case_sets.get(data.case_set.id) == data.case_set
    case = target.case_sets.get(data.case_set.id).cases[0]
    assert (case.assertions, case.threshold, case.description) == ((), None, "")
    assert target.runs.outputs(data.run.id) == data.outputs
    assert target.evaluations.eval_run(data.run.id) is None
    target.close()
