"""Training data from a session: enabled few-shot examples and well-rated outputs, on a real
SQLite store; what cannot be used is listed with why."""

from __future__ import annotations

from dataclasses import replace

from workbench.core.paths import app_paths
from workbench.core.prompts import FewShotExample
from workbench.core.ratings import Rating
from workbench.core.runs import Output, Run, Variant
from workbench.services.workspace import WorkspaceService
from workbench.store import Store
from workbench.tuning.session_data import session_examples


def test_examples_and_rated_outputs_become_training_rows():
    store = Store.open(app_paths().ensure().database)
    try:
        workspace = WorkspaceService(store).create_session("capitals")
        version = WorkspaceService(store).save_version(
            workspace.prompt.id, "Answer with the city only.",
            [FewShotExample("France", "Paris"), FewShotExample("Italy", "Rome", enabled=False),
             FewShotExample("Spain", "  ")],
            "Capital of {{ country }}?", parent_id=None)
        cases = WorkspaceService(store).save_cases(
            workspace.case_set, [({"country": "Peru"}, None), ({"country": "Chile"}, None),
                                 ({}, None)])
        run = Run(workspace.session.id, name="r1", case_set_id=cases.id)
        variant = Variant(run.id, version.id, "model.gguf")
        run = store.runs.add(replace(run, variants=(variant,)))
        peru, chile, empty = cases.cases
        good = store.runs.add_output(Output(run.id, variant.id, peru.id, "Lima"))
        poor = store.runs.add_output(Output(run.id, variant.id, chile.id, "Buenos Aires"))
        broken = store.runs.add_output(Output(run.id, variant.id, empty.id, "?"))
        store.ratings.rate(Rating(good.id, 5))
        store.ratings.rate(Rating(good.id, 4))
        store.ratings.rate(Rating(poor.id, 1))
        store.ratings.rate(Rating(broken.id, 5))

        imported = session_examples(store, workspace.session.id)
        conversations = [[(m.role, m.content) for m in e.messages] for e in imported.examples]
        assert conversations == [
            [("system", "Answer with the city only."), ("user", "France"),
             ("assistant", "Paris")],
            # the rated output without the few-shot examples the adapter should replace
            [("system", "Answer with the city only."), ("user", "Capital of Peru?"),
             ("assistant", "Lima")],
        ]
        reasons = [str(p) for p in imported.problems]
        assert any("(few-shot):3: the example has an empty input or output" in r
                   for r in reasons), reasons
        assert any("(rated output)" in r and "country" in r for r in reasons), reasons

        only_rated = session_examples(store, workspace.session.id, include_examples=False,
                                      min_rating=4.6)
        assert only_rated.examples == []  # Lima averages 4.5
    finally:
        store.close()


def test_templated_examples_train_on_the_rendered_user_message():
    store = Store.open(app_paths().ensure().database)
    try:
        workspace = WorkspaceService(store).create_session("capitals")
        WorkspaceService(store).save_version(
            workspace.prompt.id, "",
            [FewShotExample.templated({"country": "France"}, "Paris"),
             FewShotExample.templated({"country": ""}, "Rome")],
            "Capital of {{ country }}?", parent_id=None)
        imported = session_examples(store, workspace.session.id)
        assert [[(m.role, m.content) for m in e.messages] for e in imported.examples] == [
            [("user", "Capital of France?"), ("assistant", "Paris")]]
        assert [(p.line, p.reason) for p in imported.problems] == [
            (2, "the example has an empty input or output")]
    finally:
        store.close()
