"""The token inspector's services on the real bundled model: traces collected while a run
generates, branches, first divergence (one tokenizer and two), the likelihood of an expected
answer and the ``likelihood`` assertion."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.services.test_compare import Recorder, make_workspace
from workbench.core.cases import TestCase
from workbench.core.engine_flags import format_sampling_flags, parse_sampling_flags
from workbench.core.errors import SettingsError
from workbench.core.evaluation import Assertion
from workbench.core.runs import Output, Run, RunStatus, Variant
from workbench.core.sampling import GREEDY
from workbench.core.suites import Suite, SuiteError, SuitePrompt, SuiteProvider, SuiteTest
from workbench.core.tokens import TokenTrace
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.compare import RunService, VariantSpec
from workbench.services.evaluation.eval_service import EvalService
from workbench.services.evaluation.validation import assertion_problem
from workbench.services.inspection import InspectionService
from workbench.services.models import ModelService
from workbench.services.sessions import open_store
from workbench.services.workspace import WorkspaceService

N_CTX = 1024


class Services:
    def __init__(self):
        self.store = open_store()
        self.models = ModelService(store=self.store)
        self.workspace = WorkspaceService(self.store)
        self.runs = RunService(self.store, self.models)
        self.inspection = InspectionService(self.store, self.models)

    def run(self, specs, case_set, ws, only: int | None = None) -> tuple[Run, list[Output]]:
        recorder = Recorder()
        cases = case_set.cases[:only] if only else case_set.cases
        handle = self.runs.start(ws.session.id, case_set.id, cases, specs, recorder)
        assert recorder.finished.wait(180) and recorder.status is RunStatus.DONE
        assert all(not o.error for o in recorder.outputs), [o.error for o in recorder.outputs]
        return handle.run, recorder.outputs

    def branch(self, run, variant, spec, case, forced, parent) -> Output:
        recorder = Recorder()
        self.runs.branch_cell(run, variant, spec, case, forced, parent.id, recorder)
        assert recorder.finished.wait(120)
        (output,) = recorder.outputs
        assert not output.error, output.error
        return output

    def close(self):
        self.models.close()
        self.store.close()


@pytest.fixture
def services(bundled_model):
    opened = Services()
    yield opened
    opened.close()


def spec(version, label="greedy", tokens=24, logprobs=0, model=None) -> VariantSpec:
    return VariantSpec(label, version, model, GREEDY.with_(max_tokens=tokens, logprobs=logprobs),
                       n_ctx=N_CTX)


# -- traces -------------------------------------------------------------------------------

def test_a_run_stores_each_outputs_tokens_with_logprobs_when_asked(services):
    ws, v1, v2, cases = make_workspace(services.workspace)
    run, outputs = services.run([spec(v2, "plain"), spec(v2, "k5", logprobs=5)], cases, ws)
    by_label = {v.id: v.label for v in run.variants}
    for output in outputs:
        trace = output.token_trace
        assert trace is not None and len(trace.tokens) == output.token_count
        assert trace.data == output.text.encode("utf-8")  # the pieces join to the bytes
        stored = services.store.runs.token_trace(output.id)
        assert stored == trace and services.inspection.trace(
            services.store.runs.output(output.id)) == trace
        if by_label[output.variant_id] == "k5":
            assert all(t.logprob is not None and len(t.top) == 5 for t in trace.tokens)
            # greedy: the chosen token is the most likely one
            assert all(t.top[0].token_id == t.token_id for t in trace.tokens)
        else:
            assert all(t.logprob is None and not t.top for t in trace.tokens)


def splits_a_character(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_multibyte_text_round_trips_through_the_stored_pieces(services):
    ws = services.workspace.create_session("Echo")
    version = services.workspace.save_version(
        ws.prompt.id, "Repeat the user's text exactly.", [], "{{ text }}", parent_id=None)
    text = "Café 東京 🦘 naïve"
    cases = services.workspace.save_cases(ws.case_set, [({"text": text}, None)])
    chosen = spec(version, tokens=24, logprobs=2)
    run, (echo,) = services.run([chosen], cases, ws)
    # A tiny model may not echo it all: forced, the kangaroo and Tokyo surely are written
    # (each character over several tokens), as a branch is.
    host = services.models.load(services.models.settings_for(None, n_ctx=N_CTX))
    forced = host.tokenize(text, add_special=False, parse_special=False)
    output = services.branch(run, run.variants[0], chosen, cases.cases[0], forced, echo)
    for stored in (echo, output):
        trace = services.store.runs.token_trace(stored.id)
        assert b"".join(t.piece for t in trace.tokens) == stored.text.encode("utf-8")
        assert TokenTrace.unpack(trace.pack()) == trace
    assert output.text.startswith(text)
    assert trace.ids[:len(forced)] == tuple(forced)
    assert [t.forced for t in trace.tokens[:len(forced)]] == [True] * len(forced)
    assert sum(splits_a_character(t.piece) for t in trace.tokens) >= 4


# -- branches and first divergence ----------------------------------------------------------

def test_a_branch_splits_from_its_parent_at_the_forced_token(services):
    ws, v1, v2, cases = make_workspace(services.workspace)
    chosen = spec(v2, logprobs=3)
    run, (parent,) = services.run([chosen], cases, ws, only=1)
    ids = list(parent.token_trace.ids)
    at = 3
    alternative = next(a for a in parent.token_trace.tokens[at].top if a.token_id != ids[at])
    forced = ids[:at] + [alternative.token_id]
    branch = services.branch(run, run.variants[0], chosen, cases.cases[0], forced, parent)
    assert branch.branch_of == parent.id and branch.forced_tokens == tuple(forced)
    stored = services.store.runs.output(branch.id, with_trace=True)
    assert (stored.branch_of, stored.forced_tokens) == (parent.id, tuple(forced))
    forced_bytes = b"".join(t.piece for t in parent.token_trace.tokens[:at]) + alternative.piece
    assert branch.text.encode("utf-8").startswith(forced_bytes)
    assert [t.forced for t in stored.token_trace.tokens[:at + 2]] == [True] * (at + 1) + [False]

    split = services.inspection.first_divergence(parent, stored)
    assert (split.shared, split.position, split.same_tokenizer) == (at, at, True)
    assert split.a.token_id == ids[at] and split.b.token_id == alternative.token_id
    assert split.b.forced and split.a.top and split.b.top  # both sides' top-k, as captured
    assert split.a.top[0].token_id == ids[at]  # greedy chose the best
    same = services.inspection.first_divergence(parent, parent)
    assert (same.shared, same.position, same.a, same.b) == (len(ids), None, None, None)


def stored_run(services, ws, cases, version, *models) -> Run:
    """A run of the given models, stored as a run stores its variants (nothing generated)."""
    run = Run(ws.session.id, "by hand", cases.id, RunStatus.DONE)
    variants = tuple(Variant(run.id, version.id, str(services.models.resolve(model)),
                             GREEDY, label=f"v{i}", position=i, engine_settings={"n_ctx": N_CTX})
                     for i, model in enumerate(models))
    return services.store.runs.add(Run(run.session_id, run.name, run.case_set_id, run.status,
                                       variants, id=run.id))


def old_output(run: Run, variant: Variant, case: TestCase, text: str) -> Output:
    """An output as stored before traces: text only."""
    return Output(run.id, variant.id, case.id, text, finish_reason="stop",
                  model_path=variant.model_path, sampling=variant.sampling)


def test_outputs_without_traces_are_tokenized_and_scored_for_their_divergence(services):
    ws, v1, v2, cases = make_workspace(services.workspace)
    run = stored_run(services, ws, cases, v2, None)
    variant, case = run.variants[0], cases.cases[0]
    a = services.store.runs.add_output(old_output(run, variant, case, "The capital is Madrid."))
    b = services.store.runs.add_output(old_output(run, variant, case, "The capital is Berlin."))
    host = services.models.load(services.models.settings_for(None, n_ctx=N_CTX))
    prefix = host.tokenize("The capital is", add_special=False, parse_special=False)
    split = services.inspection.first_divergence(a, b)
    assert split.same_tokenizer and split.position == split.shared == len(prefix)
    assert split.a.text.strip() == "Madrid"[:len(split.a.text.strip())] != ""
    assert split.b.text.strip() == "Berlin"[:len(split.b.text.strip())] != ""
    # not captured, so recomputed under the prompt: the top-k and each token's own logprob
    assert len(split.a.top) == 5 and split.a.logprob is not None
    assert "recomputed" in split.note
    twin = services.store.runs.add_output(old_output(run, variant, case, a.text))
    assert services.inspection.first_divergence(a, twin).position is None


def test_two_tokenizers_are_compared_by_characters(services, gemma_model):
    ws, v1, v2, cases = make_workspace(services.workspace)
    run = stored_run(services, ws, cases, v2, None, str(gemma_model))
    case = cases.cases[0]
    smol, gemma = run.variants
    a = services.store.runs.add_output(old_output(run, smol, case, "Madrid is the capital."))
    b = services.store.runs.add_output(old_output(run, gemma, case, "Madrid is a big city."))
    split = services.inspection.first_divergence(a, b)
    assert not split.same_tokenizer and "different tokenizers" in split.note
    assert "characters" in split.note
    assert split.position == split.shared == len("Madrid is ")
    assert "t" in split.a.text and "a" in split.b.text  # each side's token at that character
    same = services.inspection.first_divergence(a, services.store.runs.add_output(
        old_output(run, gemma, case, a.text)))
    assert same.position is None and not same.same_tokenizer


# -- the likelihood of an expected answer -------------------------------------------------

def test_likelihood_is_repeatable_and_ranks_answers(services):
    ws, v1, v2, cases = make_workspace(services.workspace)
    few_shot = spec(v1)
    case = TestCase(cases.id, {"country": "France"}, expected="Paris")
    first = services.inspection.likelihood(few_shot, case)
    again = services.inspection.likelihood(few_shot, case)
    assert first == again and first.tokens  # scoring twice: identical numbers
    assert first.prompt_tokens > 0 and all(t.logprob is not None for t in first.tokens)
    unlikely = services.inspection.likelihood(few_shot, case, answer="Helicopter banana")
    assert first.perplexity < unlikely.perplexity
    with pytest.raises(Exception, match="no expected answer"):
        services.inspection.likelihood(few_shot, TestCase(cases.id, {"country": "France"}))


def test_the_likelihood_assertion_passes_and_fails_through_the_eval_service(services):
    evals = EvalService(services.store, services.models, services.runs)
    suite = Suite(
        prompts=(SuitePrompt("ask", "What is the capital of {{country}}? One word."),),
        providers=(SuiteProvider(BUNDLED_NAME, "greedy", {"temperature": 0, "max_tokens": 4}),),
        tests=(SuiteTest("lenient", {"country": "France"}, (
                   Assertion("likelihood", threshold=10_000.0),), expected="Paris"),
               SuiteTest("strict", {"country": "France"}, (
                   Assertion("likelihood", threshold=1.0),), expected="Paris")))
    # A test with nothing to score is refused before anything runs (the preflight).
    unanswerable = replace(suite, tests=suite.tests + (SuiteTest(
        "no answer", {"country": "France"}, (Assertion("likelihood", threshold=10_000.0),)),))
    with pytest.raises(SuiteError, match='in test "no answer": likelihood .* has none'):
        evals.run_suite(unanswerable)
    outcome = evals.run_suite(suite)
    assert outcome.errors == 0
    described = {case.id: case.description for case in
                 services.store.case_sets.get(outcome.run.case_set_id).cases}
    verdicts = {described[r.case_id]: r.verdict for r in
                services.store.evaluations.results(outcome.run.id)}
    lenient, strict = verdicts["lenient"], verdicts["strict"]
    assert lenient.passed and 0 < lenient.score <= 1
    assert not strict.passed
    reason = strict.results[0].reason
    assert reason.startswith("perplexity ") and "> 1.0" in reason and "least likely: " in reason
    assert abs(lenient.score - strict.score) < 1e-9  # the same answer, the same 1/perplexity


def test_a_likelihood_assertion_needs_a_usable_threshold():
    assert "needs a threshold" in assertion_problem(Assertion("likelihood"))
    assert "never be met" in assertion_problem(Assertion("likelihood", threshold=0.5))
    assert assertion_problem(Assertion("likelihood", threshold=5.0)) is None


def test_n_probs_is_the_variants_logprobs_setting():
    settings = parse_sampling_flags("--n-probs 5 --temp 0")
    assert settings.logprobs == 5 and "--n-probs 5" in format_sampling_flags(settings)
    assert parse_sampling_flags(format_sampling_flags(settings)).logprobs == 5
    for bad in ("--n-probs 21", "--n-probs lots", "--n-probs=-1"):
        with pytest.raises(SettingsError, match="--n-probs .* is not a whole number from 0 to 20"):
            parse_sampling_flags(bad)
