"""The few-shot vs fine-tune experiment on the real bundled model and real trainers: the arms'
prompts hold exactly their k shots from the training part, the scale-0 control equals the base
token for token (and a real adapter at scale 1 does not), a crashed trainer fails its arm only,
and the report (HTML, Markdown, results.json) says all of it."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from workbench_resources import EXAMPLES

from tests.fixtures.tiny_lora import write_lora
from workbench.core.cases import CaseSet, TestCase
from workbench.core.job_state import JobState, JobWatcher
from workbench.core.prompts import Prompt, PromptVersion
from workbench.core.sampling import SamplingSettings
from workbench.core.sessions import Session
from workbench.services.compare import RunService, VariantSpec
from workbench.services.evaluation.eval_service import EvalService
from workbench.services.experiments.fewshot_config import FewShotConfig, default_training
from workbench.services.experiments.fewshot_control import compare_outputs
from workbench.services.experiments.fewshot_runner import FewShotService
from workbench.services.models import ModelService
from workbench.services.sessions import open_store
from workbench.services.tuning import TuningService

SYSTEM = ("Route the customer's message to one team: billing, shipping, technical or account. "
          "Answer with the team's name only.")


@pytest.fixture
def services():
    store = open_store()
    models = ModelService(store=store)
    runs = RunService(store, models)
    yield store, models, runs, EvalService(store, models, runs)
    models.close()
    store.close()


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_scale_zero_adapter_gives_the_base_tokens(services, tmp_path, bundled_model):
    store, models, runs, _ = services
    adapter = write_lora(tmp_path / "strong.gguf", strength=0.5)
    session = store.sessions.add(Session("control"))
    version = PromptVersion("p", system_prompt=SYSTEM, user_template="{{input}}")
    case_set = CaseSet(session.id, "cases")
    case_set = store.case_sets.save(replace(case_set, cases=tuple(
        TestCase(case_set.id, {"input": text}, position=i) for i, text in enumerate(
            ["My parcel never came.", "I was charged twice.", "The app crashes on start."]))))
    cases = list(case_set.cases)
    greedy = SamplingSettings(temperature=0.0, max_tokens=12, seed=7)
    specs = [VariantSpec("base", version, str(bundled_model), greedy),
             VariantSpec("x0", version, str(bundled_model), greedy, adapter_path=str(adapter),
                         adapter_scale=0.0),
             VariantSpec("x1", version, str(bundled_model), greedy, adapter_path=str(adapter),
                         adapter_scale=1.0)]
    outputs = {}

    class Keep:
        def cell_started(self, *args): ...
        def cell_token(self, *args): ...
        def run_finished(self, *args): ...
        def cell_finished(self, output):
            outputs[output.id] = output

    store.prompts.add_prompt(Prompt(session.id, "p", id="p"))
    store.prompts.save_version(version)
    # One run each, in this order: the base before any adapter was applied, the adapter at
    # scale 1, then at scale 0 (an engine that left the adapter attached fails the control).
    ids = {}
    for spec in (specs[0], specs[2], specs[1]):
        handle = runs.start(session.id, case_set.id, cases, [spec], Keep())
        assert handle.wait(300)
        ids[spec.label] = handle.run.variants[0].id
    base, zero, one = ids["base"], ids["x0"], ids["x1"]
    assert all(o.answered for o in outputs.values()), [o.error for o in outputs.values()]
    assert compare_outputs(outputs, base, zero) == (3, 0)  # scale 0: exactly the base
    pairs, different = compare_outputs(outputs, base, one)
    assert pairs == 3 and different >= 1  # the adapter is real: at scale 1 it changes tokens


def test_experiment_end_to_end_with_a_crashed_trainer(services, workbench_home):
    store, models, runs, evaluation = services
    service = FewShotService(TuningService(store, models), evaluation)
    config = FewShotConfig(
        data=(str(EXAMPLES / "few-shot-vs-lora.jsonl"),), system=SYSTEM, held_out=3,
        ks=(0, 2), seed=5, repeats=1, max_tokens=4, stop=("\n",), adapter_k="largest",
        adapter_on_all=True, control=True,
        training=replace(default_training(), max_steps=2, max_length=96))
    killed = []

    def crash_the_first_trainer(item):
        # A real crash: the trainer of the 2-example adapter is killed as soon as it runs.
        if item[0] == "trainer" and item[1] == "k2":
            os.kill(item[2].process.pid, signal.SIGKILL)
            killed.append(item[2].job_id)

    job = JobState("test")
    steps = []
    job.watch(JobWatcher(on_partial=crash_the_first_trainer,
                         on_progress=lambda p: steps.append(p.message)))
    outcome = service.run(config, job)
    assert job.status == "done" and killed
    assert any(s.startswith("training LoRA on all") for s in steps)
    # every evaluation run's cells come as its step job's JobProgress, counted on to the end
    evaluating = [s for s in steps if s.startswith("evaluating:")]
    assert evaluating[0] == "evaluating: 0/15 answers" and "evaluating: 15/15 answers" in evaluating

    results = outcome.results
    arms = {a["key"]: a for a in results["arms"]}
    assert arms["lora-k2"]["status"] == "failed"
    assert "ended unexpectedly" in arms["lora-k2"]["error"], arms["lora-k2"]["error"]
    for key in ("zero-shot", "shots-2", "lora-all", "control-base", "control-scale0"):
        assert arms[key]["status"] == "done", arms[key]
        assert arms[key]["total"] == 3 and 0 <= arms[key]["passed"] <= 3
    # The 2-shot prompt is longer than the zero-shot one by its two examples.
    assert arms["shots-2"]["prompt_tokens"] > arms["zero-shot"]["prompt_tokens"] + 10
    assert results["control"]["equal"] is True and results["control"]["pairs"] == 3
    adapters = {a["key"]: a for a in results["adapters"]}
    assert adapters["all"]["status"] == "done" and adapters["all"]["seconds"] > 0
    assert adapters["k2"]["status"] == "failed"

    # The k-shot arms' prompts hold exactly their k shots, all from the training part.
    split = outcome.split
    training = {p.input for p in split.training}
    held = {p.input for p in split.held_out}
    runs = [store.runs.get(run_id) for run_id in results["run_ids"]]
    variants = [v for run in runs for v in run.variants]
    by_label = {v.label: store.prompts.version(v.prompt_version_id) for v in variants}
    assert len(by_label["2-shot"].examples) == 2 and len(by_label["zero-shot"].examples) == 0
    assert {e.input for e in by_label["2-shot"].examples} <= training
    assert not {e.input for e in by_label["2-shot"].examples} & held
    assert [e.input for e in by_label["2-shot"].examples] == [p.input for p in split.shots(2)]
    assert len(by_label["LoRA on all 49"].examples) == 0
    # Control base first, one run per adapter state (base, LoRA on all), control ×0 last; the
    # failed adapter's arm never ran.
    assert [[v.label for v in run.variants] for run in runs] == [
        ["control: base (greedy)"], ["zero-shot", "2-shot"], ["LoRA on all 49"],
        ["control: LoRA on all 49 ×0 (greedy)"]]
    assert sum(len(store.evaluations.results(run.id)) for run in runs) == 5 * 3

    folder = outcome.folder
    assert folder.parent == workbench_home / "data" / "experiments"
    assert folder.name.endswith("-few-shot")
    for name in ("config.json", "split.json", "results.json", "report.html", "report.md"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "split.json").read_text())["held_out"] == \
        [p.to_dict() for p in split.held_out]
    page = Tables()
    page.feed((folder / "report.html").read_text())
    arms_table = next(t for t in page.tables if t[0][0] == "arm")
    rows = {row[0]: row for row in arms_table[1:]}
    assert rows["LoRA on 2"][-1] == "failed"
    assert rows["2-shot"][-1] == "done" and rows["2-shot"][2] == "2"
    assert "%" in rows["zero-shot"][6]  # the Wilson interval
    adapters_table = next(t for t in page.tables if t[0][0] == "adapter")
    assert [r[0] for r in adapters_table[1:]] == ["LoRA on 2", "LoRA on all 49"]
    assert page.images and page.images[0].startswith("data:image/png;base64,")
    html = (folder / "report.html").read_text()
    assert "FAILED: LoRA on 2" in html
    assert "control: adapter at scale 0 = base: yes" in html
    assert results["comparison"]["sentence"] in html
    assert (folder / "report-figures" / "pass-rate.png").is_file()


def test_cancel_kills_the_trainer_and_keeps_what_finished(services):
    store, models, runs, evaluation = services
    service = FewShotService(TuningService(store, models), evaluation)
    config = FewShotConfig(
        data=(str(EXAMPLES / "few-shot-vs-lora.jsonl"),), system=SYSTEM, held_out=3,
        ks=(0, 2), repeats=1, max_tokens=4, adapter_k="largest", adapter_on_all=True,
        training=replace(default_training(), max_steps=50, max_length=96))
    trainers = []

    def cancel_once_training(item):
        if item[0] == "trainer":
            trainers.append(item[2])
            job.cancel()

    job = service.start(config, JobWatcher(on_partial=cancel_once_training))
    assert job.wait(120)
    assert job.status == "cancelled", job.error
    assert len(trainers) == 1  # the second adapter never started
    assert trainers[0].process.proc.poll() is not None  # killed, not left training
    results = job.outcome.results
    assert results["status"] == "cancelled" and results["run_ids"] == []
    assert {a["status"] for a in results["adapters"]} == {"cancelled"}
    assert {a["key"]: a["status"] for a in results["arms"]}["lora-k2"] == "cancelled"
    assert "cancelled" in (job.outcome.folder / "report.html").read_text()
