"""The results files name a provider as promptfoo does — by the id it was given (or its
label), never by the model file the app resolved it to — and the JUnit report after the suite,
as promptfoo names an eval by its description. A real ``workbench eval -m`` on the bundled
model."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from tests.cli.test_eval_cli import suite, two_cases, workbench
from workbench.library.bundled import BUNDLED_NAME


def test_a_model_given_with_m_is_named_by_what_was_given(tmp_path, bundled_model):
    # the suite names a provider of its own; -m replaces it, as promptfoo's --providers does
    path = suite(tmp_path, two_cases("{type: not-contains, value: zzqx}",
                                     "{type: contains, value: zzqx}"), "capitals-suite.yaml")
    done = workbench("eval", str(path), "-m", BUNDLED_NAME, "--max-tokens", "8",
                     "--temperature", "0", "--output", str(tmp_path / "promptfoo.json"),
                     "--junit", str(tmp_path / "junit.xml"))
    assert done.returncode == 100, done.stderr
    data = json.loads((tmp_path / "promptfoo.json").read_text())
    rows = data["results"]["results"]
    assert len(rows) == 2
    # promptfoo: {id: provider.id(), label: provider.label}, label left out when it has none
    assert all(row["provider"] == {"id": BUNDLED_NAME} for row in rows), rows[0]["provider"]
    assert [p["provider"] for p in data["results"]["prompts"]] == [BUNDLED_NAME]
    assert data["config"]["providers"] == [BUNDLED_NAME]  # the ones the eval ran
    assert not any(str(bundled_model) in json.dumps(row["provider"]) for row in rows)

    junit = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert junit.get("name") == "capitals"  # the suite's description, not its file name
    assert [s.get("name") for s in junit.findall("testsuite")] == [BUNDLED_NAME]
