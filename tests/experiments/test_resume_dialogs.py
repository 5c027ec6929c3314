"""The experiment dialogs' Resume, clicked as a user clicks it: an experiment whose command was
killed with SIGKILL is offered (the button names its folder), and Resume finishes it without
doing its finished steps again, ending with the report in the dialog."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from workbench_resources import EXAMPLES

from tests.experiments.resume_helpers import kill_when, steps
from tests.ui.conftest import app_services, make_window  # noqa: F401 - a fixture
from workbench.services.experiments.experiment_state import state_of


@pytest.fixture
def window(qtbot, app_services):
    window = make_window(qtbot, app_services, wait_for_model=False)
    yield window
    window.compare.stop()


def _click_resume(qtbot, dialog, folder: Path) -> None:
    qtbot.waitUntil(lambda: dialog.resume_button.isEnabled(), timeout=30_000)
    assert folder.name in dialog.resume_button.toolTip()
    assert "Resume to finish" in dialog.step_label.text()
    qtbot.mouseClick(dialog.resume_button, Qt.MouseButton.LeftButton)
    assert not dialog.resume_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=300_000)
    assert state_of(folder).status == "done"
    # nothing left to resume: the button goes off again
    qtbot.waitUntil(lambda: not dialog.resume_button.isEnabled())


def test_quantlab_dialog_resumes_a_killed_lab(qtbot, window, tmp_path, workbench_home):
    texts = tmp_path / "texts.txt"
    texts.write_text("The lighthouse keeper climbed the stairs at dusk.", encoding="utf-8")
    folder, at_kill = kill_when(
        ["quantlab", "smollm2-135m-instruct", "--quants", "Q8_0", "--repeats", "1", "--pp", "8",
         "--tg", "2", "--threads", "1", "--texts", str(texts)], "quantlab", workbench_home,
        lambda records: any(r["step"] == "file" for r in records), tmp_path / "killed.log")
    reference = Path(steps(at_kill, "file")["F16"]["data"]["path"])
    made_at = os.stat(reference).st_mtime_ns

    window.experiments.quantlab_action.trigger()
    dialog = window.experiments.dialogs["quantlab"]
    _click_resume(qtbot, dialog, folder)
    assert dialog.job.status == "done", dialog.step_label.text()
    assert [arm["label"] for arm in dialog.outcome.arms] == ["F16 (reference)", "Q8_0"]
    assert all(arm["status"] == "done" for arm in dialog.outcome.arms)
    assert dialog.outcome.folder == folder
    qtbot.waitUntil(lambda: "Recommendation" in dialog.report_view.toPlainText())
    assert os.stat(reference).st_mtime_ns == made_at  # kept, not quantized again
    final = json.loads((folder / "progress.json").read_text())
    assert steps(final, "file")["F16"] == steps(at_kill, "file")["F16"]


CONFIG = f"""
data = ["{EXAMPLES / 'few-shot-vs-lora.jsonl'}"]
system = "Answer with one word: billing, shipping, technical or account."
held_out = 2
k = [0, 1]
repeats = 1
adapters = "none"
adapter_on_all = false
control = false
[sampling]
max_tokens = 3
stop = ["\\n"]
"""


def test_fewshot_dialog_resumes_a_killed_experiment(qtbot, window, tmp_path, workbench_home):
    config = tmp_path / "experiment.toml"
    config.write_text(CONFIG)
    folder, at_kill = kill_when(["experiment", "few-shot-vs-lora", str(config)], "few-shot",
                                workbench_home,
                                lambda records: any(r["step"] == "suite" for r in records),
                                tmp_path / "killed.log")

    window.experiments.fewshot_action.trigger()
    dialog = window.experiments.dialogs["fewshot"]
    _click_resume(qtbot, dialog, folder)
    assert dialog.outcome is not None, dialog.step_label.text()
    assert dialog.outcome.folder == folder
    assert dialog.step_label.text().startswith("Done. Stored in ")
    assert "zero-shot" in dialog.report.toPlainText()
    final = json.loads((folder / "progress.json").read_text())
    assert steps(final, "suite") == steps(at_kill, "suite")  # the same stored suite
    results = dialog.outcome.results
    assert [a["status"] for a in results["arms"]] == ["done", "done"]
    session = steps(final, "suite")[""]["data"]["session_id"]
    store = window.services.store
    assert [run.id for run in store.runs.for_session(session)] == results["run_ids"]
