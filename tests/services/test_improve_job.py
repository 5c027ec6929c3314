"""Improve through its service on real parts: the bundled model as target and proposer (served
by a real OpenAI-compatible server behind a recording proxy, or by the local host), a real
session database. Tiny tasks and budgets: the machine is small and shared."""

from __future__ import annotations

import threading

import pytest

from tests.plugins.test_openai_compat_cli import serving
from tests.services.recording_proxy import recording_proxy
from workbench.core.errors import WorkbenchError
from workbench.core.evaluation import Assertion
from workbench.core.improve import CANCELLED, DONE, HELD_OUT, TRAINING
from workbench.core.job_state import JobWatcher
from workbench.core.runs import RunStatus
from workbench.core.sampling import SamplingSettings
from workbench.core.suites import Suite, SuitePrompt, SuiteProvider, SuiteTest
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.compare import RunService
from workbench.services.evaluation.eval_service import EvalService
from workbench.services.evaluation.suite_session import store_suite
from workbench.services.improve import AllowedChanges, ImproveRequest, ImproveService
from workbench.services.improve.proposer import SYSTEM as PROPOSER_SYSTEM
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins
from workbench.services.sessions import open_store

REVIEWS = [("Loved it, the staff were lovely and kind.", "positive"),
           ("Broken on arrival, rude support, awful.", "negative"),
           ("Delicious pizza and a cosy warm room.", "positive"),
           ("Cold soup, dirty table, slow waiter.", "negative"),
           ("Brilliant book, clever and funny throughout.", "positive"),
           ("The kettle leaks and the lid is cracked.", "negative")]


@pytest.fixture
def service(workbench_home, bundled_model):
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models)
    yield ImproveService(EvalService(store, models, RunService(store, models, plugins),
                                     plugins))
    models.close()
    store.close()


@pytest.fixture(scope="module")
def server(bundled_model, tmp_path_factory):
    with serving(bundled_model, tmp_path_factory.mktemp("server"), "--n_ctx", "2048",
                 "--n_threads", "1", "--interrupt_requests", "False") as base:
        yield base


def sentiment_session(service: ImproveService) -> str:
    """A session holding six checked reviews (a suite stored as the window stores one)."""
    tests = tuple(SuiteTest(f"review {i}", {"review": text},
                            (Assertion("icontains", label),
                             Assertion("not-icontains",
                                       "negative" if label == "positive" else "positive")),
                            expected=label)
                  for i, (text, label) in enumerate(REVIEWS))
    suite = Suite(description="sentiment",
                  prompts=(SuitePrompt("start", "Is this review positive or negative?\n\n"
                                                "{{review}}"),),
                  providers=(SuiteProvider(BUNDLED_NAME, "greedy", {"temperature": 0}),),
                  tests=tests, default_assertions=(Assertion("max-length", 30),))
    return store_suite(service.store, suite).session.id


def request(session_id: str, **changes) -> ImproveRequest:
    return ImproveRequest(session_id=session_id,
                          target_sampling=SamplingSettings(temperature=0.0, seed=0,
                                                           max_tokens=6),
                          budget_generations=20, seed=1, held_out_fraction=0.34,
                          rewrites_per_round=2, trials_per_round=2, **changes)


def test_a_search_stores_every_candidate_and_never_shows_the_held_out_cases(service,
                                                                            server):
    session_id = sentiment_session(service)
    with recording_proxy(server) as (proxy, requests):
        remote = f"openai+{proxy}"
        partials = []
        job = service.start(request(session_id, target_model=remote, proposer_model=remote),
                            JobWatcher(on_partial=partials.append))
        assert job.wait(1500), "the job did not end"
    assert job.status == DONE, job.error
    outcome = job.outcome
    store = service.store

    # every candidate is a prompt version of the session, with its lineage and scores
    candidates = outcome.candidates
    assert candidates[0].slot == "start" and candidates[0].parent_id is None
    assert len(candidates) >= 2
    ids = [c.id for c in candidates]
    prompt_ids = {p.id for p in store.prompts.prompts(session_id)}
    for position, candidate in enumerate(candidates):
        assert store.prompts.version(candidate.version_id).prompt_id in prompt_ids
        assert candidate.change
        if candidate.slot != "start":
            assert candidate.parent_id in ids[:position]  # a parent made before it
            version = store.prompts.version(candidate.version_id)
            parent = candidates[ids.index(candidate.parent_id)]
            assert version.parent_id == parent.version_id
        if "rewrite" in candidate.slot:
            assert candidate.settings.instruction != parent.settings.instruction
        for evaluation in candidate.evaluations:
            assert evaluation.done and evaluation.total == len(evaluation.case_ids)
            run = store.runs.get(evaluation.run_id)
            assert run.session_id == session_id and run.status is RunStatus.DONE
            assert candidate.slot in [v.label for v in run.variants]
    scored = [c for c in candidates if c.training() is not None]
    assert scored and all(0 <= c.training().passed <= c.training().total for c in scored)
    assert outcome.start.held_out() is not None and outcome.best.held_out() is not None
    assert outcome.evidence is not None and outcome.evidence.units == len(outcome.split.held_out)
    assert store.improve.job(job.outcome.job.id).status == DONE
    assert partials and partials[-1].phase == "done"
    assert outcome.spent.generations <= 20

    # the held-out cases reach the model only in the final comparison, and never the proposer
    held_texts = [service.store.case_sets.for_session(session_id)[0].cases[i].variables["review"]
                  for i in range(len(REVIEWS))
                  if service.store.case_sets.for_session(session_id)[0].cases[i].id
                  in outcome.split.held_out]
    asked = [r for r in requests if r.method == "POST"]
    showing = [i for i, r in enumerate(asked)
               if any(text in str(r.body) for text in held_texts)]
    held_generations = outcome.spent.held_out_generations
    assert held_generations >= len(held_texts)
    assert showing == list(range(len(asked) - held_generations, len(asked)))
    assert not any(from_proposer(asked[i]) for i in showing)
    training_asked = [r for r in asked[:len(asked) - held_generations] if not from_proposer(r)]
    assert len(training_asked) == outcome.spent.search_generations
    assert outcome.spent.proposer_calls == sum(map(from_proposer, asked)) > 0


def from_proposer(request) -> bool:
    return any(message.get("content") == PROPOSER_SYSTEM
               for message in (request.body or {}).get("messages", []))


def test_cancel_stops_the_job_keeps_its_steps_and_lets_it_be_resumed(service):
    session_id = sentiment_session(service)
    first_score = threading.Event()

    def on_partial(progress) -> None:
        if progress.candidate is not None and progress.candidate.slot == "start":
            first_score.set()

    job = service.start(request(session_id, allowed=AllowedChanges(instruction=False)),
                        JobWatcher(on_partial=on_partial))
    assert first_score.wait(900), job.error
    job.cancel()
    assert job.wait(300)
    assert job.status == CANCELLED
    record = service.find(job.outcome.job.id)
    assert record.status == CANCELLED
    assert [j.id for j in service.resumable(session_id)] == [record.id]
    start = service.candidates(record.id)[0]
    assert start.slot == "start" and start.training().rate is not None
    # nothing reached the held-out comparison
    assert all(e.stage == TRAINING for c in service.candidates(record.id)
               for e in c.evaluations)
    assert not any(e.stage == HELD_OUT for c in service.candidates(record.id)
                   for e in c.evaluations)
    assert job.outcome.evidence is None and job.outcome.winner is None
    # "Use this version": only a significant winner is adopted unasked; a named one always
    with pytest.raises(WorkbenchError, match="no significant improvement"):
        service.adopt(record.id)
    adopted, sampling = service.adopt(record.id, candidate_id=start.id)
    main_line = service.store.prompts.prompts(session_id)[0]
    assert adopted.prompt_id == main_line.id and adopted.parent_id == start.version_id
    assert service.store.prompts.history(main_line.id)[-1].id == adopted.id
    assert sampling.temperature == 0.0
