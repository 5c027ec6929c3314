"""The recorded conformance run (``make conformance`` writes ``recorded.json``; this needs no
npm): complete, recorded against the suites as they are now, and every disagreement left is a
deliberate difference listed in ``expected_differences.yaml`` with its reason."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conformance.run import (
    HERE,
    NODE_VERSION,
    PROMPTFOO_VERSION,
    RECORDED,
    SUITES,
    UNSUPPORTED,
    matches,
    suite_hash,
    suite_names,
)
from workbench.core.evaluation import ASSERTION_TYPES

DIFFERENCES = HERE / "expected_differences.yaml"
RERECORD = "run `make conformance` (or python tests/conformance/run.py --suite NAME) to record it"
# Types no suite here can exercise against promptfoo, and why.
NOT_IN_A_SUITE = {
    "grounded": "checks quotes against the chunks a provider's retrieval put in the prompt: "
                "needs a document set, which promptfoo does not have",
    "likelihood": "scores the expected answer under a local model's own prompt (the token "
                  "inspector); a remote server gives no log-probabilities of given text",
}


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(RECORDED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def differences() -> list[dict]:
    return yaml.safe_load(DIFFERENCES.read_text(encoding="utf-8")) or []


def test_every_suite_is_recorded_as_it_is_now(recorded):
    rows = {row["suite"]: row for row in recorded["suites"]}
    names = suite_names()
    assert UNSUPPORTED in names and len(names) >= 12
    for name in names:
        row = recorded["unsupported"] if name == UNSUPPORTED else rows.get(name)
        assert row is not None, f"{name}.yaml has no recorded row: {RERECORD}"
        assert row["hash"] == suite_hash(name), f"{name}.yaml changed since it was recorded: " \
                                                f"{RERECORD}"
    assert set(rows) <= set(names), f"recorded suites that no longer exist: " \
                                    f"{sorted(set(rows) - set(names))}"
    assert recorded["promptfoo"] == PROMPTFOO_VERSION and recorded["node"] == NODE_VERSION


def test_every_disagreement_left_is_a_listed_deliberate_difference(recorded, differences):
    assert all(entry.get("reason") and entry.get("suite") for entry in differences)
    found = [d for row in recorded["suites"] for d in row["disagreements"]]
    unexplained = [d for d in found if not any(matches(entry, d) for entry in differences)]
    assert not unexplained, "disagreements with promptfoo not in expected_differences.yaml:\n" \
        + "\n".join(json.dumps(d, ensure_ascii=False) for d in unexplained[:10])
    stale = [entry for entry in differences if not any(matches(entry, d) for d in found)]
    assert not stale, f"expected differences that no longer occur (remove them): {stale}"


def test_the_counts_add_up(recorded):
    for row in recorded["suites"]:
        kinds = {kind: sum(1 for d in row["disagreements"] if d["kind"] == kind)
                 for kind in ("assertion", "test", "output", "exit code")}
        for field, kind in (("assertions", "assertion"), ("tests", "test"),
                            ("outputs", "output")):
            agree, total = row[field]
            assert 0 <= agree <= total and total - agree == kinds[kind], (row["suite"], field)
        assert row["exit_codes"]["agree"] == (kinds["exit code"] == 0)
        assert row["assertions"][1] > 0, f"{row['suite']}: no assertion was compared"


def test_every_results_file_workbench_wrote_loaded_in_promptfoo(recorded):
    failed = {row["suite"]: row["import"] for row in recorded["suites"]
              if not row["import"]["ok"]}
    assert not failed


def test_unsupported_keys_were_refused_with_file_and_line_before_generating(recorded):
    unsupported = recorded["unsupported"]
    marked = sum(1 for line in (SUITES / f"{UNSUPPORTED}.yaml").read_text().splitlines()
                 if line.rstrip().endswith("# refused"))
    assert unsupported["marked"] == marked >= 10
    assert unsupported["ok"] and unsupported["exit"] == 1
    assert unsupported["missing_lines"] == [] and unsupported["generations"] == 0


def test_the_suites_use_every_assertion_type_the_app_supports():
    used = set()
    for path in SUITES.rglob("*"):
        if path.suffix in (".yaml", ".yml"):
            used |= set(re.findall(r"type: ([a-z][a-z:-]*)", path.read_text()))
        elif path.suffix == ".csv":  # the __expected shorthand: "contains: Paris"
            used |= set(re.findall(r"(?:^|,)([a-z][a-z-]*)(?:\(\d+\))?:", path.read_text(),
                                   re.M))
    used = {kind.removeprefix("not-") for kind in used}
    missing = set(ASSERTION_TYPES) - used - set(NOT_IN_A_SUITE)
    assert not missing, f"assertion types no conformance suite uses: {sorted(missing)}"
