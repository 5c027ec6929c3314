"""Retrieval in a suite: a provider's ``config.retrieval`` is read (and refused with its line
when it is wrong), makes the variant retrieve, travels through the session and the suite export,
and `workbench eval` runs without vs with retrieval headless on the real bundled model, with
recall@k from the cases' gold sources. A missing set is named before anything is generated."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_eval_cli import workbench
from tests.retrieval_use.corpus import QUESTIONS, write_corpus
from workbench.core.retrieval import RetrievalSettings
from workbench.core.suites import SuiteError
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.evaluation.suite_file import parse_suite
from workbench.services.evaluation.suite_retrieval import retrieval_of
from workbench.services.evaluation.suite_session import (
    spec_label,
    store_suite,
    suite_from_session,
    variant_specs,
)
from workbench.services.evaluation.suite_writer import dump_suite
from workbench.services.sessions import open_store


def suite_text(retrieval: str = "{set: handbook, k: 2}", mode_label: str = "") -> str:
    """Two questions with their gold sources; a plain provider, then one that retrieves."""
    lines = [
        "description: staff questions",
        "prompts:",
        '  - "Context:\\n{{ context }}\\n\\nQuestion: {{ question }}\\nAnswer briefly."',
        "providers:",
        f"  - {{id: {BUNDLED_NAME}, label: plain, config: {{temperature: 0, max_tokens: 12}}}}",
        f"  - id: {BUNDLED_NAME}",
        f"    config: {{temperature: 0, max_tokens: 12, retrieval: {retrieval}}}",
        *([f"    label: {mode_label}"] if mode_label else []),
        "tests:",
    ]
    for question, gold in QUESTIONS:
        lines += [f'  - vars: {{question: "{question}", gold_sources: {gold}}}',
                  "    assert: [{type: not-contains, value: zzqx}]"]
    return "\n".join(lines) + "\n"


def test_a_providers_retrieval_is_read_and_makes_its_variant_retrieve():
    suite = parse_suite(suite_text())
    plain, searching = suite.providers
    assert retrieval_of(plain) == RetrievalSettings()
    assert retrieval_of(searching) == RetrievalSettings("handbook", "bm25", 2)  # bm25: default
    # Without a label of its own, the column says what it retrieves.
    assert spec_label(suite.prompts[0], searching, suite.prompts) == \
        f"{BUNDLED_NAME} · bm25 handbook"
    hybrid = parse_suite(suite_text("{set: handbook, mode: hybrid, k: 3, score_floor: 0.2}"))
    assert retrieval_of(hybrid.providers[1]) == RetrievalSettings("handbook", "hybrid", 3, 0.2)


@pytest.mark.parametrize("retrieval, named", [
    ("{set: handbook, mode: fuzzy}", "takes one of none, bm25, dense, hybrid, not 'fuzzy'"),
    ("{set: handbook, k: 0}", "1 or more, not 0"),
    ("{mode: bm25}", "needs the document set's name"),
    ("{set: handbook, top: 3}", "top"),
    ("handbook", "must be a mapping"),
])
def test_a_wrong_retrieval_is_refused_with_its_line(retrieval, named):
    with pytest.raises(SuiteError) as caught:
        parse_suite(suite_text(retrieval))
    [problem] = caught.value.problems  # nothing else: {{context}} is retrieval's
    assert named in str(problem) and "the suite:7:" in str(problem)


def test_retrieval_travels_through_the_session_and_the_suite_export(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    suite = parse_suite(suite_text("{set: handbook, mode: hybrid, k: 3}", "with handbook"))
    store = open_store()
    try:
        held = store_suite(store, suite)
        specs = variant_specs(suite, held.versions, list(suite.providers))
        assert [s.retrieval for s in specs] == [RetrievalSettings(),
                                                 RetrievalSettings("handbook", "hybrid", 3)]
        variants = store.session_variants.get(held.session.id)
        assert [v.retrieval.mode for v in variants] == ["none", "hybrid"]
        exported = suite_from_session(store, held.session.id, held.case_set,
                                      [("p", held.versions[0])], variants)
    finally:
        store.close()
    again = parse_suite(dump_suite(exported))
    assert [retrieval_of(p) for p in again.providers] == [
        RetrievalSettings(), RetrievalSettings("handbook", "hybrid", 3)]


def test_eval_compares_without_and_with_retrieval_headless(tmp_path, bundled_model):
    path = tmp_path / "suite.yaml"
    path.write_text(suite_text(mode_label="with handbook"))
    # No set yet: named before anything is generated.
    missing = workbench("eval", str(path))
    assert missing.returncode == 1
    assert "no global document set is named 'handbook'" in missing.stderr
    assert "workbench docs add handbook" in missing.stderr and "cells" not in missing.stderr
    # hybrid over a set that was never embedded: named too.
    added = workbench("docs", "add", "handbook", str(write_corpus(tmp_path / "docs")),
                      "--no-embed")
    assert added.returncode == 0, added.stderr
    hybrid = tmp_path / "hybrid.yaml"
    hybrid.write_text(suite_text("{set: handbook, mode: hybrid}"))
    unembedded = workbench("eval", str(hybrid))
    assert unembedded.returncode == 1 and "has no embeddings" in unembedded.stderr
    done = workbench("eval", str(path), "--json", str(tmp_path / "out.json"))
    assert done.returncode == 0, done.stderr
    assert "Retrieval, with handbook: recall@2 1.00" in done.stdout
    data = json.loads((tmp_path / "out.json").read_text())
    [score] = data["report"]["retrieval"]
    assert score["label"] == "with handbook" and score["cases"] == 2 and score["recall"] == 1.0
