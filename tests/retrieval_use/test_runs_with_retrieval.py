"""A comparison on the real bundled model with a BM25 variant beside one without retrieval:
each output keeps the chunks its prompt contained, the prompt held them (its token count is the
composer's measure of the same case), recall@k / MRR come from the cases' gold sources, and the
grounded assertion reads the recorded chunks."""

from __future__ import annotations

import threading

import pytest

from tests.retrieval_use.corpus import QUESTIONS, SYSTEM, TEMPLATE, make_set
from workbench.core.cases import CaseSet
from workbench.core.evaluation import Assertion
from workbench.core.retrieval import RetrievalSettings, mrr, recall_at_k
from workbench.core.runs import RunStatus
from workbench.core.sampling import GREEDY
from workbench.services.compare import RunService, VariantSpec
from workbench.services.context import measure, prompt_tokens
from workbench.services.evaluation.eval_service import EvaluatingListener, report_for_run
from workbench.services.evaluation.evaluator import Evaluator
from workbench.services.inspection import InspectionService
from workbench.services.models import ModelService
from workbench.services.retrieval.service import RetrievalService
from workbench.services.retrieval_context import (
    CaseRetriever,
    chunks_lookup,
    groundings,
    sent_variables,
)
from workbench.services.sessions import open_store
from workbench.services.workspace import WorkspaceService

BM25 = RetrievalSettings("handbook", "bm25", 2)


class Recorder:
    def __init__(self):
        self.outputs, self.finished, self.status = [], threading.Event(), None

    def cell_started(self, *_):
        pass

    def cell_token(self, *_):
        pass

    def cell_finished(self, output):
        self.outputs.append(output)

    def run_finished(self, run_id, status):
        self.status = status
        self.finished.set()


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One run for the module: variants none and BM25 k=2 over two questions."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(home))
    store, models = open_store(), ModelService()
    workspace = WorkspaceService(store)
    ws = workspace.create_session("Staff questions")
    version = workspace.save_version(ws.prompt.id, SYSTEM, [], TEMPLATE, parent_id=None)
    cases = workspace.save_cases(ws.case_set, [
        ({"question": q, "context": "", "gold_sources": gold}, None) for q, gold in QUESTIONS])
    service = RetrievalService(store, models)
    make_set(service, tmp_path_factory.mktemp("docs"), session_id=ws.session.id)
    sampling = GREEDY.with_(max_tokens=16)
    specs = [VariantSpec("none", version, None, sampling, n_ctx=2048),
             VariantSpec("bm25", version, None, sampling, n_ctx=2048, retrieval=BM25)]
    recorder = Recorder()
    handle = RunService(store, models).start(ws.session.id, cases.id, cases.cases, specs,
                                             recorder)
    assert recorder.finished.wait(300), "the run did not finish"
    yield store, models, service, version, cases, handle.run, recorder
    models.close()
    store.close()
    mp.undo()


def by_label(run, outputs, label):
    variant = next(v for v in run.variants if v.label == label)
    return sorted((o for o in outputs if o.variant_id == variant.id), key=lambda o: o.case_id)


def test_outputs_record_what_search_returned_and_the_prompt_held_it(ran):
    store, models, service, version, cases, run, recorder = ran
    assert recorder.status is RunStatus.DONE
    assert all(not o.error for o in recorder.outputs), [o.error for o in recorder.outputs]
    assert next(v for v in store.runs.get(run.id).variants if v.label == "bm25").retrieval == BM25
    host = models.load(models.settings_for(str(models.resolve(None)), n_ctx=2048))
    by_case = {c.id: c for c in cases.cases}
    for output in by_label(run, recorder.outputs, "bm25"):
        case = by_case[output.case_id]
        settings, chunks = store.retrieval.for_output(output.id)
        searched = service.search("handbook", case.variables["question"], mode="bm25", k=2,
                                  session_id=cases.session_id)
        assert settings == BM25 and chunks == searched and 1 <= len(chunks) <= 2
        # The composer's measure of the same case, with the same chunks, is the sent prompt.
        context = CaseRetriever(None, service, session_id=cases.session_id).context_for(
            BM25, case.variables, TEMPLATE)
        budget = measure(host, version, context.variables, 16, context)
        assert budget.prompt == output.prompt_tokens
        assert budget.retrieved > 0 and all(c.text.strip() in budget.rendered for c in chunks)
        tokens = prompt_tokens(host, version, context.variables)  # the composer's Tokens tab
        assert tokens.total == output.prompt_tokens
        assert abs(tokens.counts["retrieved"] - budget.retrieved) <= 2  # edges may merge
    for plain, retrieved in zip(by_label(run, recorder.outputs, "none"),
                                by_label(run, recorder.outputs, "bm25")):
        assert store.retrieval.for_output(plain.id) is None
        assert plain.prompt_tokens < retrieved.prompt_tokens  # none renders {{ context }} empty


def test_recall_and_mrr_per_variant_from_gold_sources(ran):
    store, _, service, _, cases, run, _ = ran
    report = report_for_run(store, run.id)
    [score] = report.retrieval  # the variant without retrieval has nothing to score
    assert score.label == "bm25" and score.cases == 2 and score.k == 2
    expected = [(recall_at_k(hits, [gold], 2), mrr(hits, [gold]))
                for q, gold in QUESTIONS
                for hits in [service.search("handbook", q, mode="bm25", k=2,
                                            session_id=cases.session_id)]]
    assert score.recall == pytest.approx(sum(r for r, _ in expected) / 2)
    assert score.mrr == pytest.approx(sum(m for _, m in expected) / 2)
    assert score.recall == 1.0  # each question's words are only in its gold file
    assert any(line.startswith("Retrieval, bm25: recall@2 1.00") for line in report.lines())
    assert report.to_dict()["retrieval"][0]["mrr"] == score.mrr


def test_the_evaluation_tab_shows_retrieval_scores_of_a_run_without_assertions(ran, qtbot):
    from workbench.ui.evaluate.eval_results import EvalResultsView, load_evaluation

    store, *_, run, _ = ran
    report, _ = load_evaluation(store, store.runs.get(run.id))
    assert report is not None  # no assertion was checked, but the gold sources were scored
    view = EvalResultsView()
    qtbot.addWidget(view)
    view.show()
    view.show_report(report, [])
    table = view.retrieval_table
    assert view.retrieval_box.isVisible() and table.rowCount() == 1
    assert [table.item(0, c).text() for c in range(table.columnCount())] == \
        ["bm25", "2", "2", "1.00", f"{report.retrieval[0].mrr:.2f}"]


def test_the_judge_the_likelihood_and_the_inspector_see_the_prompt_as_sent(ran):
    store, models, _, version, cases, run, recorder = ran
    inspection = InspectionService(store, models)
    listener = EvaluatingListener(Evaluator(None, None, inspection), store, cases)
    listener.versions = {v.id: version for v in run.variants}
    listener.ready.set()
    host = models.load(models.settings_for(str(models.resolve(None)), n_ctx=2048))
    by_case = {c.id: c for c in cases.cases}
    for output in recorder.outputs:
        case = by_case[output.case_id]
        found = store.retrieval.for_output(output.id)
        chunks = found[1] if found else ()
        variables = sent_variables(store, output, case.variables)
        # The variables rebuild the prompt that was sent, to the token.
        assert prompt_tokens(host, version, variables).total == output.prompt_tokens
        shown = inspection.messages_for(output)[-1].content
        question = listener.question(output, case)
        assert question == shown and case.variables["question"] in question
        assert all(c.text.strip() in question for c in chunks)
        variant = inspection.variant_of(output)
        scored = inspection.likelihood(variant, case, answer="The ferry.", output=output)
        assert scored.prompt_tokens == output.prompt_tokens
    assert any(store.retrieval.for_output(o.id) for o in recorder.outputs)


def test_grounded_assertion_and_cell_grounding_read_the_recorded_chunks(ran):
    store, _, _, _, cases, run, recorder = ran
    case_set = CaseSet(cases.session_id, cases.name, cases.cases, id=cases.id,
                       default_assertions=(Assertion("grounded"),))
    evaluator = Evaluator(None, None, chunks_for=chunks_lookup(store))
    by_case = {c.id: c for c in cases.cases}
    for output in by_label(run, recorder.outputs, "bm25"):
        [result] = evaluator.verdict(output, by_case[output.case_id], case_set).results
        assert "no retrieved chunks" not in result.reason
        assert 0.0 <= result.score <= 1.0
    for output in by_label(run, recorder.outputs, "none"):
        [result] = evaluator.verdict(output, by_case[output.case_id], case_set).results
        assert not result.passed and "no retrieved chunks" in result.reason
    reports = groundings(store, recorder.outputs)
    assert set(reports) == {o.id for o in by_label(run, recorder.outputs, "bm25")}
