"""The JSON report and JUnit XML are built-in exporters (plugins/builtin/result_files.py):
written from a stored, checked run with a branch (a real SQLite file) through the exporter
hook, as File ▸ Export results and `workbench eval --json/--junit/--export` write them."""

from __future__ import annotations

import csv
import json
from xml.etree import ElementTree

import pytest

from tests.services.test_eval_branches import evaluated_with_a_branch
from workbench.plugins.manager import PluginManager
from workbench.services.results_export import export_results
from workbench.store import Store


@pytest.fixture
def checked(tmp_path):
    store = Store.open(tmp_path / "workbench.sqlite3")
    data, branch = evaluated_with_a_branch(store)
    yield store, PluginManager().load(discover=False), data, branch
    store.close()


def test_the_json_report_holds_the_summary_and_every_output(checked, tmp_path):
    store, plugins, data, branch = checked
    target = tmp_path / "results.json"
    assert export_results(store, plugins, data.run, target, summary={"exit_code": 100}) == 5
    document = json.loads(target.read_text())
    assert document["run_id"] == data.run.id and document["exit_code"] == 100
    assert [v["passed"] for v in document["report"]["variants"]] == [1, 2]  # no branch
    rows = document["results"]
    assert [row["branch_of"] for row in rows] == [None] * 4 + [data.outputs[1].id]
    failing = next(row for row in rows if row["counted"] and not row["passed"])
    assert failing["results"][0]["reason"] == "does not contain 'cheval'"


def test_junit_has_a_test_per_counted_cell_and_names_the_failure(checked, tmp_path):
    store, plugins, data, _ = checked
    export_results(store, plugins, data.run, tmp_path / "junit.xml")
    root = ElementTree.parse(tmp_path / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert sorted(suites) == ["v1", "v2"]
    assert [(s.get("tests"), s.get("failures")) for s in suites.values()] == [("2", "1"),
                                                                             ("2", "0")]
    (failure,) = root.findall(".//failure")  # the branch that passes is no test case
    assert failure.get("message") == "contains: does not contain 'cheval'"


def test_a_format_is_chosen_by_the_option_not_the_file_name(checked, tmp_path):
    """`workbench eval --junit report.txt` still writes JUnit: the option names the format."""
    store, plugins, data, _ = checked
    export_results(store, plugins, data.run, tmp_path / "report.txt", suffix=".xml")
    assert ElementTree.parse(tmp_path / "report.txt").getroot().tag == "testsuites"


def test_csv_keeps_each_checks_verdict_as_json_in_one_cell(checked, tmp_path):
    store, plugins, data, _ = checked
    export_results(store, plugins, data.run, tmp_path / "results.csv")
    with open(tmp_path / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert json.loads(rows[1]["results"])[0]["passed"] is False
