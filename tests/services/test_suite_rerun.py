"""A suite stored again (``workbench eval`` run again on the same file) joins the session of
its earlier runs: unchanged prompts and tests are reused, changed ones added beside them; a
renamed session or another file gets a session of its own. Real suite files, a real SQLite
store; nothing is generated here (tests/cli/test_eval_rerun.py runs the model twice)."""

from __future__ import annotations

import textwrap

import pytest

from workbench.services.evaluation.suite_file import load_suite
from workbench.services.evaluation.suite_rerun import store_or_join
from workbench.store import Store

SUITE = textwrap.dedent("""
    description: capitals
    prompts: ["What is the capital of {{country}}?"]
    providers: [{id: smol.gguf, label: smol, config: {temperature: 0}}]
    tests:
      - vars: {country: France}
        assert: [{type: icontains, value: Paris}]
      - vars: {country: Japan}
        assert: [{type: icontains, value: Tokyo}]
    """)


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "workbench.sqlite3")
    yield opened
    opened.close()


def stored(store: Store, path, text: str = SUITE):
    path.write_text(text)
    return store_or_join(store, load_suite(path), yaml_text=text)


def test_the_same_file_stored_again_joins_its_session(store, tmp_path):
    first = stored(store, tmp_path / "suite.yaml")
    again = stored(store, tmp_path / "suite.yaml")
    assert again.session.id == first.session.id
    assert again.case_set.id == first.case_set.id  # one trend: the same cases
    assert [v.id for v in again.versions] == [v.id for v in first.versions]
    assert again.stored.id == first.stored.id  # the same text: nothing new to keep
    assert [s.name for s in store.sessions.list()] == ["eval: capitals"]
    assert len(store.case_sets.for_session(first.session.id)) == 1


def test_a_path_written_otherwise_is_the_same_file(store, tmp_path, monkeypatch):
    first = stored(store, tmp_path / "suite.yaml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.yaml").symlink_to(tmp_path / "suite.yaml")
    relative = store_or_join(store, load_suite("suite.yaml"), yaml_text=SUITE)
    linked = store_or_join(store, load_suite("link.yaml"), yaml_text=SUITE)
    assert relative.session.id == linked.session.id == first.session.id


def test_what_changed_in_the_file_is_added_to_the_same_session(store, tmp_path):
    path = tmp_path / "suite.yaml"
    first = stored(store, path)
    reworded = SUITE.replace("What is the capital of", "Name the capital city of")
    second = stored(store, path, reworded)
    assert second.session.id == first.session.id
    [old], [new] = first.versions, second.versions
    assert new.id != old.id and new.parent_id == old.id  # a new version of the same prompt
    assert new.user_template.startswith("Name the capital city of")
    assert second.case_set.id == first.case_set.id  # the tests did not change
    assert second.stored.id != first.stored.id and second.stored.yaml_text == reworded
    variants = store.session_variants.get(first.session.id)
    assert [v.version for v in variants] == [new.id]  # the session's variants are the new ones

    retested = stored(store, path, reworded.replace("Tokyo", "Kyoto"))
    assert retested.session.id == first.session.id
    assert retested.case_set.id != first.case_set.id  # other checks: a case set of its own
    assert [v.id for v in retested.versions] == [new.id]
    assert [c.assertions[0].value for c in retested.case_set.cases] == ["Paris", "Kyoto"]
    assert len(store.case_sets.for_session(first.session.id)) == 2
    assert len(store.sessions.list()) == 1


def test_another_file_or_a_renamed_session_gets_a_session_of_its_own(store, tmp_path):
    first = stored(store, tmp_path / "suite.yaml")
    (tmp_path / "copy").mkdir()
    elsewhere = stored(store, tmp_path / "copy" / "suite.yaml")
    assert elsewhere.session.id != first.session.id  # same name, another file
    store.sessions.rename(first.session.id, "capitals, the good run")
    after_rename = stored(store, tmp_path / "suite.yaml")
    assert after_rename.session.id not in (first.session.id, elsewhere.session.id)
    assert after_rename.session.name == "eval: capitals"
