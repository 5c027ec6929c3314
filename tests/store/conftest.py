from __future__ import annotations

from dataclasses import dataclass

import pytest

from workbench.core.cases import CaseSet, TestCase
from workbench.core.prompts import FewShotExample, Prompt, PromptVersion
from workbench.core.ratings import Preference, Rating
from workbench.core.retrieval import ChunkView, DocumentSet, RetrievalSettings, SourceDocument
from workbench.core.runs import Output, Run, RunStatus, Variant
from workbench.core.sampling import SamplingSettings
from workbench.core.session_variants import SessionVariant
from workbench.core.sessions import Session
from workbench.store import Store


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "workbench.sqlite3")
    yield opened
    opened.close()


@dataclass
class Populated:
    session: Session
    versions: list[PromptVersion]
    case_set: CaseSet
    run: Run
    outputs: list[Output]


def populate(store: Store, name: str = "Translation") -> Populated:
    """A session as a user leaves it: two prompt versions, cases, a run, outputs, ratings."""
    session = store.sessions.add(Session(name, notes="French practice"))
    prompt = store.prompts.add_prompt(Prompt(session.id, "translate"))
    v1 = store.prompts.save_version(PromptVersion(
        prompt.id, "You translate English to French.",
        (FewShotExample("cat", "chat"), FewShotExample("dog", "chien", enabled=False)),
        "Translate: {{word}}", note="first try"))
    v2 = store.prompts.save_version(PromptVersion(
        prompt.id, "You translate English to French. Answer with one word.",
        v1.examples, "Translate: {{word}}", parent_id=v1.id, note="shorter answers"))
    case_set = store.case_sets.save(CaseSet(session.id, "animals", cases=()))
    cases = (TestCase(case_set.id, {"word": "horse"}, expected="cheval"),
             TestCase(case_set.id, {"word": "bird"}, expected="oiseau"))
    case_set = store.case_sets.save(CaseSet(session.id, "animals", cases=cases, id=case_set.id,
                                            created_at=case_set.created_at))
    run_id = "run-" + session.id[:8]
    variants = tuple(Variant(run_id, v.id, "/models/smol.gguf", SamplingSettings(
        temperature=0.0, seed=42), label=f"v{i + 1}", model_sha256="ab" * 32)
        for i, v in enumerate((v1, v2)))
    run = store.runs.add(Run(session.id, "first comparison", case_set.id, RunStatus.RUNNING,
                             variants, id=run_id))
    outputs = []
    for variant in variants:
        for case in cases:
            outputs.append(store.runs.add_output(Output(
                run.id, variant.id, case.id, text=f"Le mot est {case.expected} ({variant.label})",
                token_count=7, prompt_tokens=40, time_to_first_token_s=0.05,
                tokens_per_second=150.0, finish_reason="stop", sampling=variant.sampling,
                seed=42, model_path=variant.model_path, model_sha256=variant.model_sha256,
                chat_template="{{ messages }}", engine_settings={"n_ctx": 2048})))
    store.runs.set_status(run.id, RunStatus.DONE)
    store.ratings.rate(Rating(outputs[0].id, 5, rater="ana", note="perfect"))
    store.ratings.rate(Rating(outputs[2].id, 1, rater="ana", blind=True))
    store.ratings.prefer(Preference(outputs[0].id, outputs[2].id, "tie", rater="ben"))
    glossary = store.retrieval.add_set(DocumentSet("glossary", session_id=session.id))
    document = SourceDocument(glossary.id, "/docs/glossary.txt", "Glossary", "cd" * 32, 13)
    store.retrieval.save_document(document, "cheval: horse", [ChunkView(0, document.id, 0,
                                                                         "cheval: horse", 0, 13, 4)])
    store.session_variants.save(session.id, [
        SessionVariant("greedy v2", version=v2.id, model="smol", max_tokens=32,
                       retrieval=RetrievalSettings("glossary", "bm25", k=2)),
        SessionVariant("tuned", adapter="/adapters/fr.gguf", adapter_scale=0.5, temperature=0.7,
                       seed=-1, sampling_flags="--top-k 40 --min-p 0.05", engine_flags="-fa off")])
    return Populated(session, [v1, v2], case_set, store.runs.get(run.id), outputs)


def save_outputs(store: Store, outputs) -> None:
    """Outputs saved as a run saves them (``RunRepository.add_output``, one at a time), grouped
    in one transaction so a test's thousands take a moment: all of them or none."""
    with store.transaction():
        for output in outputs:
            store.runs.add_output(output)
