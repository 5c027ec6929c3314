"""The end of a run streams from the store in batches (bounded memory), and writes the same
files it wrote when it read the whole run at once: each export of a fixed run (a real SQLite
file, export_fixture.py) is compared byte for byte with the file recorded before the change
(tests/services/golden_exports/; WORKBENCH_RECORD_GOLDEN=1 records them again)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.services.export_fixture import build_golden_run
from workbench.plugins.manager import PluginManager
from workbench.services import results_export
from workbench.services.evaluation import promptfoo_results, run_report
from workbench.services.evaluation.eval_service import report_for_run
from workbench.services.evaluation.promptfoo_results import (
    promptfoo_json,
    write_promptfoo_results,
)
from workbench.services.results_export import export_results
from workbench.store import Store

GOLDEN = Path(__file__).parent / "golden_exports"
RECORDING = os.environ.get("WORKBENCH_RECORD_GOLDEN") == "1"
# what differs from one machine or moment to the next in promptfoo's file
VOLATILE = re.compile(r'("(?:exportedAt|platform|arch|version)": )"[^"]*"')


@pytest.fixture
def golden_run(tmp_path, monkeypatch):
    # batches of 3 outputs: rows, verdicts and cells cross many batch boundaries
    monkeypatch.setattr(results_export, "BATCH", 3)
    monkeypatch.setattr(run_report, "BATCH", 3)
    monkeypatch.setattr(promptfoo_results, "BATCH", 3)
    store = Store.open(tmp_path / "workbench.sqlite3")
    run = build_golden_run(store)
    yield store, PluginManager().load(discover=False), run
    store.close()


def same_as_recorded(name: str, text: str) -> None:
    path = GOLDEN / name
    if RECORDING:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert text == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", ["results.json", "results.jsonl", "results.csv",
                                  "junit.xml"])
def test_each_exporter_writes_the_recorded_file(golden_run, tmp_path, name):
    store, plugins, run = golden_run
    target = tmp_path / name
    written = export_results(store, plugins, run, target,
                             summary={"suite": "golden", "exit_code": 100})
    assert written == 3 * 4 * 2 + 2  # every output: the cells, one generated again, a branch
    same_as_recorded(name, target.read_bytes().decode("utf-8"))


def test_the_promptfoo_file_is_the_recorded_one(golden_run, tmp_path):
    """``workbench eval --output``: written as it streams, and as the whole text."""
    store, _, run = golden_run
    write_promptfoo_results(store, run, tmp_path / "promptfoo.json", 100)
    streamed = (tmp_path / "promptfoo.json").read_bytes().decode("utf-8")
    same_as_recorded("promptfoo.json", VOLATILE.sub(r'\1"-"', streamed))
    assert VOLATILE.sub(r'\1"-"', promptfoo_json(store, run, 100)) == \
        VOLATILE.sub(r'\1"-"', streamed)


def test_the_report_is_the_recorded_one(golden_run):
    """Pass rates, intervals, per-assertion counts, paired comparisons, the ranking and the
    judge's agreement: the numbers every view reads."""
    store, _, run = golden_run
    report = report_for_run(store, run.id)
    assert report.ranking is not None and report.judge_agreement is not None
    assert report.preferences_ignored == 1
    same_as_recorded("report.json", json.dumps(report.to_dict(), indent=1) + "\n")


def test_rows_are_a_sized_stream_read_in_batches_at_each_pass(golden_run, monkeypatch):
    """What an exporter plugin gets: len() without reading, as many passes as it likes, each
    reading the store a batch at a time; rows[i] as of a list."""
    store, _, run = golden_run
    read: list[int] = []
    batches = store.runs.output_batches

    def counting(run_id, size=500):
        for batch in batches(run_id, size):
            read.append(len(batch))
            yield batch

    monkeypatch.setattr(store.runs, "output_batches", counting)
    rows = results_export.result_rows(store, run)
    assert len(rows) == 26 and read == []
    first = list(rows)
    assert read == [3] * 8 + [2]
    assert list(rows) == first and read == ([3] * 8 + [2]) * 2
    assert rows[0] == first[0] and rows[-1] == first[-1] and rows[2:4] == first[2:4]
    with pytest.raises(IndexError):
        rows[26]


def test_an_export_longer_than_a_hooks_time_limit_is_written(golden_run, tmp_path):
    """The rows are read from the store while the exporter writes, so writing a large run
    takes its time: the hooks' time limit (which switches a hanging plugin off) is not an
    exporter's (10,000 cells on a busy machine took 14 s and the JSON report was refused)."""
    store, plugins, run = golden_run
    plugins.hook_timeout_s = 0.001
    export_results(store, plugins, run, tmp_path / "results.json",
                   summary={"suite": "golden", "exit_code": 100})
    same_as_recorded("results.json", (tmp_path / "results.json").read_bytes().decode("utf-8"))
    assert plugins.records["result files"].status == "active"


def test_the_bootstrap_interval_is_the_same_in_bounded_memory():
    """The report's paired bootstrap resamples in batches (all 9,999 resamples of 3,333
    pairs at once held 2 × 33 million numbers): the same interval as drawn whole."""
    import numpy as np
    from scipy import stats

    from workbench.services.evaluation.statistics import paired_scores

    rng = np.random.default_rng(3)
    a, b = rng.random(3333), rng.random(3333)
    whole = stats.bootstrap((b - a,), np.mean, n_resamples=9999, confidence_level=0.95,
                            method="percentile", rng=np.random.default_rng(7))
    interval = paired_scores(list(a), list(b), 7).interval
    assert (interval.low, interval.high) == tuple(map(float, whole.confidence_interval))
