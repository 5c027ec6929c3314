"""Full-text search: ranked, highlighted, filtered by session, kept in step with the tables."""

from __future__ import annotations

from tests.store.conftest import populate
from workbench.core.prompts import Prompt, PromptVersion
from workbench.core.runs import Output
from workbench.core.search import fts_query


def test_finds_prompt_versions_and_outputs_with_highlights(store):
    data = populate(store)
    hits = store.search.search("cheval")
    assert {h.kind for h in hits} == {"output"}  # "cheval" is in outputs only
    output_hits = [h for h in hits if h.kind == "output"]
    assert {h.ref for h in output_hits} == {data.outputs[0].id, data.outputs[2].id}
    assert all("[cheval]" in h.snippet for h in output_hits)
    versions = store.search.search("one word")
    assert [h.ref for h in versions] == [data.versions[1].id]
    assert versions[0].title == "translate"


def test_ranking_puts_the_better_match_first(store):
    data = populate(store)
    variant = data.run.variants[0].id
    store.runs.add_output(Output(data.run.id, variant, None, "zebra zebra zebra stripes"))
    store.runs.add_output(Output(data.run.id, variant, None, "a zebra and many other animals "
                                 "walking in the savanna at dawn looking for water"))
    hits = store.search.search("zebra")
    assert len(hits) == 2 and "stripes" in hits[0].snippet


def test_examples_and_diacritics_are_searchable(store):
    data = populate(store)
    assert [h.ref for h in store.search.search("chien")] != []  # a few-shot example output
    prompt = store.prompts.add_prompt(Prompt(data.session.id, "menu"))
    version = store.prompts.save_version(PromptVersion(prompt.id, "Écris un crème brûlée"))
    assert [h.ref for h in store.search.search("creme brulee")] == [version.id]


def test_session_filter(store):
    first = populate(store, "first")
    populate(store, "second")
    assert len(store.search.search("cheval")) == 4
    hits = store.search.search("cheval", session_id=first.session.id)
    assert len(hits) == 2 and {h.session_id for h in hits} == {first.session.id}


def test_index_follows_updates_and_deletes(store):
    data = populate(store)
    with store.transaction() as s:  # an output's text corrected in place
        from workbench.store.schema import OutputRow
        s.get(OutputRow, data.outputs[0].id).text = "corrected answer: jument"
    assert [h.ref for h in store.search.search("jument")] == [data.outputs[0].id]
    store.sessions.delete(data.session.id)
    assert store.search.search("jument") == [] and store.search.search("translate") == []


def test_user_text_never_breaks_the_query(store):
    data = populate(store)
    variant = data.run.variants[0].id

    def add(text):
        return store.runs.add_output(Output(data.run.id, variant, None, text)).id

    cpp = add('Learn c++ AND rust; an "unbalanced quote')
    dont = add("I don't know, OR NOT at all")
    near = add("NEAR the river")
    # FTS5 operators and stray quotes are read as the literal words they are
    assert [h.ref for h in store.search.search('c++ AND "unbalanced')] == [cpp]
    assert [h.ref for h in store.search.search("don't OR NOT")] == [dont]
    assert [h.ref for h in store.search.search("NEAR(")] == [near]
    for text in ("*", "-", '""'):  # nothing to search for: an empty result, not an error
        assert store.search.search(text) == [], text
    assert fts_query("hello wor") == '"hello" "wor"*'
    assert fts_query('"exact phrase"') == '"exact phrase"'
