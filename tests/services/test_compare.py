"""Comparison runs through the services, headless, on the real bundled model."""

from __future__ import annotations

import threading
import time

import pytest

from workbench.core.composition import CompositionError, build_messages
from workbench.core.errors import ModelFileError
from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus
from workbench.core.sampling import GREEDY
from workbench.services.compare import RunService, VariantSpec
from workbench.services.context import measure
from workbench.services.models import ModelService
from workbench.services.sessions import open_store
from workbench.services.workspace import WorkspaceService


class Recorder:
    def __init__(self):
        self.tokens, self.outputs, self.finished = [], [], threading.Event()
        self.status = None

    def cell_started(self, variant_id, case_id):
        pass

    def cell_token(self, variant_id, case_id, text):
        self.tokens.append((variant_id, case_id, text))

    def cell_finished(self, output):
        self.outputs.append(output)

    def run_finished(self, run_id, status):
        self.status = status
        self.finished.set()


def wait_for_first_token(recorder, limit_s=120):
    """Bounded: a run that never streams fails here, naming why, instead of hanging."""
    deadline = time.monotonic() + limit_s
    while not recorder.tokens and not recorder.finished.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert recorder.tokens, f"no token within {limit_s} s (run status: {recorder.status})"


@pytest.fixture
def services():
    store = open_store()
    models = ModelService()
    yield WorkspaceService(store), RunService(store, models), models
    models.close()
    store.close()


def make_workspace(workspace: WorkspaceService):
    ws = workspace.create_session("Capitals")
    v1 = workspace.save_version(
        ws.prompt.id, "Answer with the capital city only.",
        [FewShotExample("France", "Paris"), FewShotExample("Italy", "Rome")],
        "{{ country }}", parent_id=None)
    v2 = workspace.save_version(ws.prompt.id, "You are a geography teacher.", [], "What is the "
                                "capital of {{ country }}?", parent_id=v1.id)
    cases = workspace.save_cases(ws.case_set, [({"country": "Spain"}, "Madrid"),
                                               ({"country": "Germany"}, "Berlin")])
    return ws, v1, v2, cases


def test_two_variants_by_two_cases_are_generated_and_stored(services):
    workspace, runs, _ = services
    ws, v1, v2, cases = make_workspace(workspace)
    specs = [VariantSpec("few-shot", v1, None, GREEDY.with_(max_tokens=12), n_ctx=1024),
             VariantSpec("teacher", v2, None, GREEDY.with_(max_tokens=12), n_ctx=1024)]
    recorder = Recorder()
    handle = runs.start(ws.session.id, cases.id, cases.cases, specs, recorder)
    assert recorder.finished.wait(120)
    assert recorder.status is RunStatus.DONE
    assert len(recorder.outputs) == 4 and all(not o.error for o in recorder.outputs)
    assert recorder.tokens  # streamed
    reopened = workspace.open(ws.session.id)
    assert reopened.run.id == handle.run.id and reopened.run.status is RunStatus.DONE
    assert {(o.variant_id, o.case_id) for o in reopened.outputs} == {
        (v.id, c.id) for v in handle.run.variants for c in cases.cases}
    sample = max(reopened.outputs, key=lambda o: o.token_count)
    assert sample.model_sha256 and len(sample.model_sha256) == 64
    assert sample.chat_template and sample.seed is not None and sample.tokens_per_second > 0
    # Same seed, same settings: a re-run reproduces the text exactly.
    again = Recorder()
    variant = handle.run.variants[0]
    runs.rerun_cell(handle.run, variant, specs[0], cases.cases[0], again)
    assert again.finished.wait(60)
    first = next(o for o in recorder.outputs
                 if o.variant_id == variant.id and o.case_id == cases.cases[0].id)
    assert again.outputs[0].text == first.text


def test_cancel_stops_the_run_within_a_second(services):
    workspace, runs, models = services
    ws, v1, v2, cases = make_workspace(workspace)
    models.load_named(None, n_ctx=1024)  # warm, so the timing below is generation only
    long = GREEDY.with_(max_tokens=400)
    specs = [VariantSpec("a", v2, None, long, n_ctx=1024), VariantSpec("b", v2, None, long, n_ctx=1024)]
    recorder = Recorder()
    handle = runs.start(ws.session.id, cases.id, cases.cases, specs, recorder)
    wait_for_first_token(recorder)
    started = time.monotonic()
    handle.cancel()
    assert recorder.finished.wait(5)
    # Generous for a loaded machine; the whole run would take several times longer.
    assert time.monotonic() - started < 5.0
    assert recorder.status is RunStatus.CANCELLED
    assert any(o.finish_reason == "cancelled" for o in recorder.outputs)


def test_a_missing_variable_fails_only_its_cell(services):
    workspace, runs, _ = services
    ws, v1, v2, cases = make_workspace(workspace)
    broken = workspace.save_version(ws.prompt.id, "", [], "{{ country }} and {{ city }}",
                                    parent_id=v2.id)
    recorder = Recorder()
    runs.start(ws.session.id, cases.id, cases.cases,
               [VariantSpec("broken", broken, None, GREEDY.with_(max_tokens=4), n_ctx=1024)],
               recorder)
    assert recorder.finished.wait(60)
    assert recorder.status is RunStatus.FAILED
    assert all("'city'" in o.error for o in recorder.outputs)


def test_a_model_that_fails_to_load_fails_its_column(services, tmp_path):
    workspace, runs, _ = services
    ws, v1, v2, cases = make_workspace(workspace)
    bad = tmp_path / "bad.gguf"
    bad.write_text("nope")
    recorder = Recorder()
    with pytest.raises(ModelFileError) as refused:
        runs.start(ws.session.id, cases.id, cases.cases,
                   [VariantSpec("bad", v1, str(bad), GREEDY)], recorder)
    # refused before any cell starts, naming the file and why
    assert str(refused.value).startswith(f"Cannot use model file {bad}: it is not a GGUF file")
    assert recorder.outputs == [] and not recorder.finished.is_set()


def test_context_budget_counts_each_part(services):
    workspace, _, models = services
    ws, v1, v2, cases = make_workspace(workspace)
    host = models.load_named(None, n_ctx=256)
    budget = measure(host, v1, {"country": "Spain"}, max_tokens=64)
    # The parts are the prompt's tokens by whose text they carry: France, Paris, Italy, Rome
    # are the examples'; the chat markup around the messages is the template's.
    assert budget.system > 5 and budget.examples >= 4 and budget.input >= 1
    assert budget.template > 10
    assert budget.prompt == len(host.tokenize(budget.rendered))
    assert sum(budget.counts.values()) == budget.prompt
    assert budget.fits and budget.warning is None
    many = v1.__class__(v1.prompt_id, v1.system_prompt,
                        tuple(FewShotExample("country " * 20, "capital " * 20) for _ in range(5)),
                        v1.user_template)
    over = measure(host, many, {"country": "Spain"}, max_tokens=64)
    assert not over.fits and "context window holds 256" in over.warning


def test_composition_errors_name_the_problem(services):
    workspace, _, _ = services
    ws, v1, v2, cases = make_workspace(workspace)
    with pytest.raises(CompositionError, match="'country'"):
        build_messages(v1, {})
    empty = v1.__class__(v1.prompt_id, "", (), "")
    with pytest.raises(CompositionError, match="The prompt is empty"):
        build_messages(empty, {})


def test_base_and_adapter_variants_share_one_model(services, tmp_path):
    from tests.fixtures.tiny_lora import write_lora

    workspace, runs, models = services
    ws, v1, v2, cases = make_workspace(workspace)
    adapter = str(write_lora(tmp_path / "a.gguf", strength=3.0))
    greedy = GREEDY.with_(max_tokens=10)
    specs = [VariantSpec("base", v2, None, greedy, n_ctx=1024),
             VariantSpec("adapter x1", v2, None, greedy, n_ctx=1024, adapter_path=adapter),
             VariantSpec("adapter x0.5", v2, None, greedy, n_ctx=1024, adapter_path=adapter,
                         adapter_scale=0.5)]
    recorder = Recorder()
    handle = runs.start(ws.session.id, cases.id, cases.cases, specs, recorder)
    assert recorder.finished.wait(120) and recorder.status is RunStatus.DONE
    assert len(models.loaded()) == 1  # no reload per variant
    by_variant = {}
    for output in recorder.outputs:
        by_variant.setdefault(output.variant_id, []).append(output.text)
    texts = [tuple(by_variant[v.id]) for v in handle.run.variants]
    assert texts[0] != texts[1]
    stored = [o for o in recorder.outputs if o.variant_id == handle.run.variants[2].id]
    assert all(o.adapter_path == adapter and o.adapter_scale == 0.5 for o in stored)


def test_cells_of_one_model_are_decoded_together_and_match_each_alone(services):
    """Four variants × two cases on one model go through the host's batch at once; every
    cell equals the same variant run alone, and records the engine that computed it."""
    workspace, runs, models = services
    ws, v1, v2, cases = make_workspace(workspace)
    specs = [VariantSpec(f"seed {seed}", v2, None,
                         GREEDY.with_(max_tokens=20) if seed is None else
                         GREEDY.with_(temperature=0.9, seed=seed, max_tokens=20), n_ctx=1024,
                         engine={"n_parallel": 4})
             for seed in (None, 1, 2, 3)]
    together = Recorder()
    handle = runs.start(ws.session.id, cases.id, cases.cases, specs, together)
    assert together.finished.wait(180) and together.status is RunStatus.DONE
    assert len(models.loaded()) == 1  # one model, four columns
    for variant, spec in zip(handle.run.variants, specs):
        alone = Recorder()
        runs.start(ws.session.id, cases.id, cases.cases, [spec], alone)
        assert alone.finished.wait(120)
        for case in cases.cases:
            batched = next(o for o in together.outputs
                           if o.variant_id == variant.id and o.case_id == case.id)
            single = next(o for o in alone.outputs if o.case_id == case.id)
            assert batched.text == single.text
            assert spec.sampling.seed is None or batched.seed == single.seed == spec.sampling.seed
    engine = together.outputs[0].engine_settings
    assert engine["n_parallel"] == 4 and engine["flash_attn"].startswith("auto→")
    assert engine["cache_type_k"] == "f16" and engine["n_ubatch"] == 512
    assert engine["chat_template_source"] == "file"  # SmolLM2's own template
    stored = workspace.open(ws.session.id).run.variants[0].engine_settings
    assert stored["flash_attn"] == "auto" and stored["n_ctx"] == 1024


def test_cancelled_cells_are_neither_answers_nor_failures(services):
    from workbench.core.summary import summarize

    workspace, runs, models = services
    ws, v1, v2, cases = make_workspace(workspace)
    models.load_named(None, n_ctx=1024)
    long = GREEDY.with_(max_tokens=400)
    specs = [VariantSpec("a", v2, None, long, n_ctx=1024), VariantSpec("b", v2, None, long, n_ctx=1024)]
    recorder = Recorder()
    handle = runs.start(ws.session.id, cases.id, cases.cases, specs, recorder)
    wait_for_first_token(recorder)
    handle.cancel()
    assert recorder.finished.wait(10) and recorder.status is RunStatus.CANCELLED
    assert len(recorder.outputs) == 4  # every cell reported, started or not
    stopped = [o for o in recorder.outputs if o.cancelled]
    assert stopped and all(o.cancelled or o.answered for o in recorder.outputs)
    stored = runs.store.runs.outputs(handle.run.id)
    assert sorted(o.id for o in stored if o.cancelled) == sorted(o.id for o in stopped)
    summaries = summarize([v.id for v in handle.run.variants], stored, [], [])
    assert sum(s.cancelled for s in summaries) == len(stopped)
    assert sum(s.failed for s in summaries) == 0
    assert sum(s.outputs for s in summaries) == 4 - len(stopped)


def test_run_history_lists_runs_newest_first_and_scores_stored_outputs(services):
    from workbench.plugins.manager import PluginManager
    from workbench.services.run_history import RunHistoryService

    workspace, runs, _ = services
    ws, v1, _, cases = make_workspace(workspace)
    handles = []
    for label in ("first", "second"):
        recorder = Recorder()
        spec = VariantSpec(label, v1, None, GREEDY.with_(max_tokens=6), n_ctx=1024)
        handles.append(runs.start(ws.session.id, cases.id, cases.cases, [spec], recorder))
        assert recorder.finished.wait(120)
    history = RunHistoryService(runs.store, PluginManager().load())
    listed = history.runs(ws.session.id)
    assert [r.id for r in listed] == [h.run.id for h in reversed(handles)]
    assert [r.variants[0].label for r in listed] == ["second", "first"]
    first = history.open(handles[0].run.id)
    assert [c.expected for c in first.cases] == ["Madrid", "Berlin"]
    assert {o.run_id for o in first.outputs} == {handles[0].run.id} and len(first.outputs) == 2
    expected = {c.id: c.expected for c in first.cases}
    for output in first.outputs:  # scorers ran again on the stored answers
        contains = expected[output.case_id].lower() in output.text.lower()
        assert first.scores[output.id]["contains expected"] == float(contains)
