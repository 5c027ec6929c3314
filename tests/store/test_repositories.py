"""Repositories store and return the domain objects unchanged."""

from __future__ import annotations

import pytest

from tests.store.conftest import populate
from workbench.core.catalog import ModelEntry
from workbench.core.errors import NotFoundError, StoreError
from workbench.core.runs import RunStatus
from workbench.core.session_variants import SessionVariant
from workbench.core.sessions import Draft, Session
from workbench.core.tune_jobs import MetricPoint, TuneJob


def test_everything_comes_back_as_it_was_stored(store):
    data = populate(store)
    assert store.sessions.get(data.session.id) == data.session
    prompt_id = data.versions[0].prompt_id
    assert store.prompts.history(prompt_id) == data.versions
    assert store.prompts.latest(prompt_id).parent_id == data.versions[0].id
    assert store.case_sets.get(data.case_set.id) == data.case_set
    run = store.runs.get(data.run.id)
    assert run.status is RunStatus.DONE and run.finished_at is not None
    assert run.variants == data.run.variants
    assert store.runs.outputs(run.id) == data.outputs
    assert [r.score for r in store.ratings.ratings_for([o.id for o in data.outputs])] == [5, 1]
    assert store.ratings.preferences_for([data.outputs[0].id])[0].winner == "tie"


def test_prompt_versions_are_immutable(store):
    data = populate(store)
    with pytest.raises(ValueError, match="never change"):
        store.prompts.save_version(data.versions[0])
    assert data.versions[0].variables == ("word",)
    assert data.versions[0].content_hash != data.versions[1].content_hash


def test_case_set_save_replaces_its_rows(store):
    data = populate(store)
    kept = data.case_set.cases[:1]
    from dataclasses import replace
    store.case_sets.save(replace(data.case_set, cases=kept))
    assert store.case_sets.get(data.case_set.id).cases == kept


def test_find_session_by_name_or_id_prefix(store):
    data = populate(store)
    assert store.sessions.find("Translation") == data.session
    assert store.sessions.find(data.session.id[:8]) == data.session
    with pytest.raises(NotFoundError, match="No session named"):
        store.sessions.find("nope")


def test_summaries_count_versions_runs_outputs(store):
    populate(store)
    store.sessions.add(Session("empty"))
    by_name = {s.session.name: s for s in store.sessions.summaries()}
    assert (by_name["Translation"].prompt_versions, by_name["Translation"].runs,
            by_name["Translation"].outputs) == (2, 1, 4)
    assert by_name["empty"].outputs == 0


def test_deleting_a_session_removes_what_belongs_to_it(store):
    data = populate(store)
    store.sessions.delete(data.session.id)
    with pytest.raises(NotFoundError):
        store.runs.get(data.run.id)
    assert store.search.search("cheval") == []


def test_drafts_autosave_and_discard(store):
    session = store.sessions.add(Session("s"))
    store.drafts.save(Draft(session.id, "composer", {"system": "draft text"}))
    store.drafts.save(Draft(session.id, "composer", {"system": "newer text"}))
    assert store.drafts.get(session.id, "composer").content == {"system": "newer text"}
    store.drafts.discard(session.id, "composer")
    assert store.drafts.get(session.id, "composer") is None


def test_tune_jobs_accumulate_metrics(store):
    job = store.jobs.add(TuneJob(None, {"rank": 8}))
    store.jobs.update(job.id, status="running", new_metrics=[MetricPoint(1, "loss", 2.5)])
    updated = store.jobs.update(job.id, new_metrics=[MetricPoint(2, "loss", 2.1)],
                                artifacts={"adapter": "/a.gguf"})
    assert [m.value for m in updated.metrics] == [2.5, 2.1]
    assert updated.status == "running" and updated.artifacts == {"adapter": "/a.gguf"}


def test_catalog_upsert_by_path(store):
    first = store.catalog.upsert_model(ModelEntry("/m.gguf", size=1, name="m"))
    store.catalog.upsert_model(ModelEntry("/m.gguf", size=2, name="m2"))
    models = store.catalog.models()
    assert len(models) == 1 and models[0].id == first.id and models[0].size == 2


def test_a_failed_action_changes_nothing(store):
    data = populate(store)
    before = store.runs.outputs(data.run.id)
    from workbench.core.runs import Output
    with pytest.raises(StoreError, match="Nothing was changed"):
        with store.transaction():
            store.runs.add_output(Output(data.run.id, data.outputs[0].variant_id, None, "new"))
            store.runs.add_output(Output("no-such-run", "no-such-variant", None, "orphan"))
    assert store.runs.outputs(data.run.id) == before


def test_session_variants_are_saved_whole_and_leave_with_their_session(store):
    data = populate(store)
    other = store.sessions.add(Session("other"))
    assert store.session_variants.get(other.id) is None  # never saved: the window's defaults
    saved = store.session_variants.get(data.session.id)
    assert [v.label for v in saved] == ["greedy v2", "tuned"]
    assert saved[1].sampling_flags == "--top-k 40 --min-p 0.05" and saved[1].seed == -1
    store.session_variants.save(data.session.id, [SessionVariant("only one", temperature=0.3)])
    assert store.session_variants.get(data.session.id) == [SessionVariant("only one",
                                                                          temperature=0.3)]
    with pytest.raises(NotFoundError, match="no session with id nope"):
        store.session_variants.save("nope", [SessionVariant("x")])
    store.sessions.delete(data.session.id)
    assert store.session_variants.get(data.session.id) is None
