"""The quantization lab on the real bundled model: llama.cpp's quantizer, real measuring
children, the KL divergence checked against a computation from llama.cpp's own logits here."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tests.experiments.resume_helpers import lab_children
from workbench.core.job_state import CANCELLED, JobState, JobWatcher
from workbench.core.paths import AppPaths
from workbench.services.experiments.quantlab import QuantLabService
from workbench.services.experiments.quantlab_config import QuantLabConfig
from workbench.services.experiments.quantlab_outcome import load_results
from workbench.services.experiments.quantlab_report import HEADERS
from workbench.services.library import LibraryService
from workbench.services.models import ModelService
from workbench.services.sessions import open_store

TEXTS = [
    "The lighthouse keeper climbed the spiral stairs every evening at dusk, and from the top "
    "he could see the fishing boats returning to the harbour.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
]
TOP_K = 32
THREADS = 1  # one thread: 2 cores shared by the whole test run (spinning threads stall)


def _paths(root: Path) -> AppPaths:
    return AppPaths(root / "data", root / "config", root / "cache", root / "logs").ensure()


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("quantlab-home")


@pytest.fixture(scope="module")
def lab(lab_home):
    """One lab for the module: F16 reference of the bundled Q4_1 file, Q8_0, Q4_K_M, and a
    type llama.cpp cannot make without an importance matrix."""
    paths = _paths(lab_home)
    store = open_store(paths)
    models = ModelService(paths, store=store)
    service = QuantLabService(models, store, paths=paths)
    partials, progress = [], []
    job = JobState()
    job.watch(JobWatcher(on_partial=partials.append, on_progress=progress.append))
    outcome = service.run(QuantLabConfig(
        "smollm2-135m-instruct", quants=["Q8_0", "Q4_K_M", "IQ2_XXS"], texts=TEXTS,
        repeats=2, pp=32, tg=8, top_k=TOP_K, threads=THREADS), job)
    yield outcome, job, partials, paths, progress
    models.close()
    store.close()


def _arm(outcome, kind: str) -> dict:
    return next(arm for arm in outcome.arms if arm["type"] == kind and not arm["engine"])


def test_quantized_files_are_made_loaded_and_in_the_library(lab):
    outcome, job, partials, paths, _progress = lab
    assert job.status == "done"
    made = {arm["type"]: arm for arm in outcome.arms}
    assert set(made) == {"F16", "Q8_0", "Q4_K_M", "IQ2_XXS"}
    for kind in ("F16", "Q8_0", "Q4_K_M"):
        arm = made[kind]
        assert arm["status"] == "done", arm
        assert Path(arm["path"]).name == f"SmolLM2-135M-Instruct-{kind}.gguf"
        # measured by llama.cpp in the child: it loaded and decoded the file
        assert arm["tg_tps_mean"] > 0 and arm["pp_tps_mean"] > 0 and arm["memory"] > 0
        assert arm["size"] == Path(arm["path"]).stat().st_size
    assert made["F16"]["size"] > made["Q8_0"]["size"] > made["Q4_K_M"]["size"]
    library = LibraryService(paths)
    try:
        known = {str(model.path) for model in library.known()}
    finally:
        library.close()
    assert {made[k]["path"] for k in ("F16", "Q8_0", "Q4_K_M")} <= known
    assert [p["type"] for p in partials] == ["F16", "Q8_0", "Q4_K_M", "IQ2_XXS"]
    assert "F16 form of a Q4_1 file" in outcome.results["reference_note"]


def _bar_at(progress, message: str) -> float:
    """The bar's fraction when the lab first said ``message``."""
    return next(p.fraction for p in progress if p.message == message)


def test_progress_only_grows_and_each_step_moves_it_by_its_share_of_the_work(lab):
    """Issue 28: the bar jumped to 50% and sat at 66% while the slow steps ran. Each step that
    did work (a quantization, the reference pass, an arm) must move the bar by about its share
    of the measured work: the durations the lab itself records, compared as shares (a busy
    machine slows every child alike), within a factor of 2.5 — the reference pass, which reads
    the texts twice, used to move it by nothing."""
    outcome, _job, _partials, _paths, progress = lab
    fractions = [p.fraction for p in progress]
    assert all(later >= earlier for earlier, later in zip(fractions, fractions[1:]))
    assert progress[-1].message == "done" and fractions[-1] == 1.0
    files = {f["type"]: f for f in outcome.results["files"]}
    arms = {arm["type"]: arm for arm in outcome.arms if arm["status"] == "done"}
    steps = {  # step: (where the bar was as it began, as the next began; seconds it took)
        "F16": ("quantizing to F16", "quantizing to Q8_0", files["F16"]["quantize_seconds"]),
        "Q8_0": ("quantizing to Q8_0", "quantizing to Q4_K_M",
                 files["Q8_0"]["quantize_seconds"]),
        "Q4_K_M": ("quantizing to Q4_K_M", "quantizing to IQ2_XXS",
                   files["Q4_K_M"]["quantize_seconds"]),
        "reference pass": ("reference token distributions", "measuring Q8_0",
                           arms["F16"]["seconds"]),
        "Q8_0 arm": ("measuring Q8_0", "measuring Q4_K_M", arms["Q8_0"]["seconds"]),
        "Q4_K_M arm": ("measuring Q4_K_M", "writing the report", arms["Q4_K_M"]["seconds"]),
    }
    moved = {name: _bar_at(progress, end) - _bar_at(progress, start)
             for name, (start, end, _seconds) in steps.items()}
    all_moved = sum(moved.values())
    all_seconds = sum(seconds for _start, _end, seconds in steps.values())
    for name, (_start, _end, seconds) in steps.items():
        bar_share, time_share = moved[name] / all_moved, seconds / all_seconds
        assert time_share / 2.5 <= bar_share <= time_share * 2.5, (
            f"{name}: {bar_share:.0%} of the bar for {time_share:.0%} of the time ({moved})")


def test_kld_orders_the_quantizations_and_the_reference_is_zero(lab):
    outcome = lab[0]
    reference, q8, q4 = (_arm(outcome, k) for k in ("F16", "Q8_0", "Q4_K_M"))
    assert reference["kld_mean"] == 0.0 and reference["kld_p99"] == 0.0
    assert reference["same_top"] == 100.0
    assert 0 < q8["kld_mean"] < q4["kld_mean"]
    assert q8["same_top"] >= q4["same_top"]


def _direct_logits(path: str, texts: list[np.ndarray]) -> np.ndarray:
    from llama_cpp import Llama

    llm = Llama(model_path=path, logits_all=True, n_ctx=1024, n_batch=512, verbose=False,
                n_threads=THREADS, n_threads_batch=THREADS)  # as the lab's children ran
    try:
        rows = []
        for tokens in texts:
            llm.reset()
            llm.eval([int(t) for t in tokens])
            rows.append(np.array(llm.scores[:len(tokens)], dtype=np.float64))
        return np.concatenate(rows)
    finally:
        llm.close()


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_kld_and_same_top_equal_a_direct_computation_from_llama_logits(lab):
    outcome = lab[0]
    stored = np.load(outcome.results["reference"]["npz"])
    tokens, lengths = stored["tokens"], stored["text_lengths"]
    assert len(lengths) == len(TEXTS)
    texts = np.split(tokens, np.cumsum(lengths)[:-1])
    p = _log_softmax(_direct_logits(_arm(outcome, "F16")["path"], texts))
    for kind in ("Q8_0", "Q4_K_M"):
        arm = _arm(outcome, kind)
        q = _log_softmax(_direct_logits(arm["path"], texts))
        top = np.argsort(-p, axis=1)[:, :TOP_K]
        p_top, q_top = np.take_along_axis(p, top, 1), np.take_along_axis(q, top, 1)
        p_tail, q_tail = 1 - np.exp(p_top).sum(1), 1 - np.exp(q_top).sum(1)
        bucketed = (np.exp(p_top) * (p_top - q_top)).sum(1) + p_tail * np.log(p_tail / q_tail)
        full = (np.exp(p) * (p - q)).sum(1)
        same = 100 * np.mean(q.argmax(1) == p.argmax(1))
        assert arm["kld_mean"] == pytest.approx(bucketed.mean(), abs=1e-4)
        assert arm["kld_p99"] == pytest.approx(np.percentile(bucketed, 99), abs=1e-4)
        assert arm["same_top"] == pytest.approx(same, abs=1e-4)
        assert arm["positions"] == len(tokens)
        # the buckets' KL is a lower bound of the full-vocabulary KL, and a close one here
        assert np.all(bucketed <= full + 1e-9)
        assert bucketed.mean() / full.mean() > 0.6
        print(f"{kind}: top-{TOP_K} KLD {bucketed.mean():.5f} vs full {full.mean():.5f} "
              f"({100 * bucketed.mean() / full.mean():.1f}%)")


def test_a_type_that_cannot_be_made_is_named_and_the_others_complete(lab):
    outcome = lab[0]
    failed = _arm(outcome, "IQ2_XXS")
    assert failed["status"] == "failed"
    assert "IQ2_XXS" in failed["error"] and "imatrix" in failed["error"]
    assert all(_arm(outcome, k)["status"] == "done" for k in ("F16", "Q8_0", "Q4_K_M"))


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.headers: list[str] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src", ""))

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.headers if tag == "th" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_the_report_renders_and_reopens_from_results_json(lab, tmp_path):
    outcome = lab[0]
    for name in ("config.json", "results.json", "report.html", "report.md"):
        assert (outcome.folder / name).is_file()
    path = outcome.report().write(tmp_path / "report.html")
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    assert parser.headers == HEADERS
    assert [row[0] for row in parser.rows] == ["F16 (reference)", "Q8_0", "Q4_K_M", "IQ2_XXS"]
    assert all(len(row) == len(HEADERS) for row in parser.rows)
    q8 = parser.rows[1]
    assert q8[HEADERS.index("KLD mean")] == f"{_arm(outcome, 'Q8_0')['kld_mean']:.5f}"
    assert "imatrix" in parser.rows[3][-1]
    assert parser.images and parser.images[0].startswith("data:image/png;base64,")
    reopened = load_results(outcome.folder / "results.json").report()
    assert reopened.tables()[0].rows == outcome.report().tables()[0].rows
    markdown = (outcome.folder / "report.md").read_text(encoding="utf-8")
    assert "| Q4_K_M |" in markdown and (outcome.folder / "report-figures").is_dir()


def test_cancel_of_the_job_kills_the_measuring_child_and_keeps_what_was_done(lab):
    """The lab's JobState is the one cancel: ``job.cancel()`` kills the running measuring
    child (a real process, gone afterwards) and the job ends CANCELLED with what it had."""
    paths = lab[3]
    store = open_store(paths)
    models = ModelService(paths, store=store)
    service = QuantLabService(models, store, paths=paths)
    seen = []
    speed_runs = threading.Event()

    def on_progress(progress):
        seen.append(progress.message)
        if progress.message.startswith("F16 (reference): speed"):
            speed_runs.set()

    try:
        # 1000 speed runs: only a kill ends this arm within the test's time limit
        job = service.start(QuantLabConfig("smollm2-135m-instruct", quants=["Q8_0", "Q4_K_M"],
                                           texts=TEXTS, repeats=1000, pp=256, tg=64,
                                           threads=THREADS), JobWatcher(on_progress=on_progress))
        assert speed_runs.wait(120), seen
        children = lab_children()
        assert len(children) == 1  # the reference pass's child, measuring speed
        job.cancel()
        assert job.wait(120)
    finally:
        models.close()
        store.close()
    assert job.status == CANCELLED
    assert not Path(f"/proc/{children[0]}").exists()  # killed and reaped
    arms = {arm["type"]: arm["status"] for arm in job.outcome.arms}
    assert arms == {"F16": "cancelled", "Q8_0": "cancelled", "Q4_K_M": "cancelled"}
    stored = json.loads((job.outcome.folder / "results.json").read_text(encoding="utf-8"))
    assert stored["status"] == "cancelled"
    assert Path(stored["reference"]["npz"]).is_file()  # the reference pass was kept
    assert not any(m.startswith(("Q8_0:", "Q4_K_M:")) for m in seen)


def test_ctrl_c_cancels_the_command_line_lab_and_keeps_its_results(lab):
    """``workbench quantlab`` runs the lab as the service's job: Ctrl-C cancels that job (the
    measuring child is killed), the lab ends cancelled with its results written, exit 130."""
    home = lab[3].data.parent
    texts = home / "texts-ctrl-c.txt"
    texts.write_text("\n\n".join(TEXTS), encoding="utf-8")
    command = subprocess.Popen(
        [sys.executable, "-m", "workbench", "quantlab", "smollm2-135m-instruct", "--quants",
         "Q8_0", "--repeats", "1000", "--pp", "256", "--tg", "64", "--texts", str(texts),
         "--threads", "1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "WORKBENCH_HOME": str(home)})
    shown = []
    for line in command.stderr:
        shown.append(line)
        if "F16 (reference): loading" in line:  # the reference pass's child has started
            command.send_signal(signal.SIGINT)  # what Ctrl-C sends
            break
    out, err = command.communicate(timeout=300)
    err = "".join(shown) + err
    assert command.returncode == 130, err
    assert "cancelling: the running step is stopped" in err and "Traceback" not in err
    results = json.loads(out)
    assert results["status"] == "cancelled"
    assert {arm["status"] for arm in results["arms"]} == {"cancelled"}
    assert Path(results["folder"], "results.json").is_file()


def test_bad_settings_are_refused_with_the_reason(lab):
    paths = lab[3]
    service = QuantLabService(ModelService(paths), None, paths=paths)
    with pytest.raises(Exception, match="unknown quantization type.*Q9_X"):
        service.run(QuantLabConfig("smollm2-135m-instruct", quants=["Q9_X"]))
    with pytest.raises(Exception, match="unknown flag"):
        service.run(QuantLabConfig("smollm2-135m-instruct", engines=["--bogus 1"]))


def test_cli_prints_the_results_as_json(lab, monkeypatch, capsys):
    from workbench.cli.main import main

    monkeypatch.setenv("WORKBENCH_HOME", str(lab[3].data.parent))
    texts = lab[3].data.parent / "texts.txt"
    texts.write_text("\n\n".join(TEXTS), encoding="utf-8")
    code = main(["quantlab", "smollm2-135m-instruct", "--quants", "Q8_0", "--repeats", "1",
                 "--pp", "16", "--tg", "4", "--texts", str(texts), "--engine", "-fa off",
                 "--threads", "1",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    results = json.loads(captured.out)
    assert [arm["label"] for arm in results["arms"]] == ["F16 (reference) -fa off", "Q8_0 -fa off"]
    assert all(arm["status"] == "done" for arm in results["arms"])
    assert results["arms"][0]["kld_mean"] == 0.0
    shown = re.findall(r"^quantlab: (\d+)% · (.*?) · ", captured.err, re.M)
    assert shown[-1] == ("100", "done")
    percents = [int(percent) for percent, _message in shown]
    assert percents == sorted(percents)
    assert Path(results["folder"], "report.html").is_file()


TINY_SUITE = """\
description: tiny
prompts:
  - label: plain
    raw: "Answer briefly. {{question}}"
providers:
  - id: smollm2-135m-instruct
    config: {temperature: 0, max_tokens: 4, seed: 1}
tests:
  - vars: {question: "What is the capital of France?"}
    expected: Paris.
    assert:
      - type: max-length
        value: 400
  - vars: {question: "What is 2 + 2?"}
    assert:
      - type: equals
        value: "a sentence the model will not write"
"""


def run_with_suite(lab, name: str, **config):
    """A lab run on TINY_SUITE (Q8_0 against the reference): its outcome and each arm's
    stored suite run, by label."""
    paths = lab[3]
    suite = paths.data.parent / name
    suite.write_text(TINY_SUITE, encoding="utf-8")
    store = open_store(paths)
    models = ModelService(paths, store=store)
    try:
        outcome = QuantLabService(models, store, paths=paths).run(QuantLabConfig(
            "smollm2-135m-instruct", quants=["Q8_0"], suite=str(suite), repeats=1, pp=8, tg=2,
            threads=THREADS, **config))
        runs = {arm["label"]: store.runs.get(arm["eval_run"]) for arm in outcome.arms
                if arm.get("eval_run")}
    finally:
        models.close()
        store.close()
    return outcome, runs


def test_a_suite_gives_the_texts_and_each_files_pass_rate(lab):
    from workbench.services.evaluation.statistics import wilson

    outcome, _ = run_with_suite(lab, "tiny.yaml")
    assert outcome.results["reference"]["source"] == "suite"
    assert outcome.results["reference"]["texts"] == 2
    assert outcome.results["reference"]["template"] == "file"  # the GGUF's own chat template
    assert "in its chat template [file]" in outcome.report().to_markdown()
    expected = wilson(1, 2)
    for arm in outcome.arms:
        assert (arm["passed"], arm["total"]) == (1, 2), arm
        assert arm["pass_low"] == pytest.approx(expected.low)
        assert arm["pass_high"] == pytest.approx(expected.high)
    row = outcome.report().tables()[0].rows[1]
    assert row[HEADERS.index("Pass rate [95% CI]")].startswith("50% [")


def test_each_engine_setting_gets_its_own_pass_rate(lab):
    """Engine settings change outputs, so each file × engine arm runs the suite itself, its
    model loaded with that arm's settings."""
    outcome, runs = run_with_suite(lab, "tiny-engines.yaml", engines=["", "-fa off"])
    assert sorted(runs) == ["F16 (reference)", "F16 (reference) -fa off", "Q8_0", "Q8_0 -fa off"]
    assert len({run.id for run in runs.values()}) == 4  # one suite run per arm
    for label, run in runs.items():
        flash = run.variants[0].engine_settings.get("flash_attn")
        assert (flash == "off") == label.endswith("-fa off"), (label, flash)
    assert all((arm["passed"], arm["total"]) == (1, 2) for arm in outcome.arms)


def test_suite_texts_are_read_as_the_model_receives_them(lab, bundled_model):
    """Through the file's chat template with the generation prompt, then the expected answer;
    the measuring child turns the template's markers into the model's control tokens."""
    from llama_cpp import Llama

    from workbench.services.evaluation.suite_file import load_suite
    from workbench.services.experiments.quantlab_config import suite_texts
    from workbench.services.experiments.quantlab_measure import chat_renderer

    paths = lab[3]
    suite = paths.data.parent / "tiny-chat.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    models = ModelService(paths)
    chat, where = chat_renderer(models, bundled_model)
    first, second = suite_texts(load_suite(suite), chat)
    assert where == "file"
    assert first.startswith("<|im_start|>system\n")
    assert first.endswith("<|im_start|>user\nAnswer briefly. What is the capital of France?"
                          "<|im_end|>\n<|im_start|>assistant\nParis.")
    assert second.endswith("<|im_start|>assistant\n")  # no expected answer: the prompt only
    vocab = Llama(str(bundled_model), vocab_only=True, verbose=False)
    start = vocab.tokenize(b"<|im_start|>", add_bos=False, special=True)
    assert len(start) == 1  # a control token, as the child tokenizes it
