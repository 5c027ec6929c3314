"""Tune ▸ Compare opens base vs. adapter in a session of its own and leaves the user's work
alone: the held-out examples are not added to the user's cases nor wrapped in their template,
their variants stay, and the wizard stays in front.

Training itself is covered by test_tune_wizard.py (minutes); here a finished job with a small
GGUF LoRA stands in for it, so the comparison is what takes the time.
"""

from __future__ import annotations

import pytest

from tests.fixtures.tiny_lora import write_lora
from workbench.core.tune_jobs import TuneJob

from .helpers import write_chat_jsonl

pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot):
    from tests.ui.conftest import make_window
    from workbench.services.models import ModelService
    from workbench.services.sessions import open_store
    from workbench.ui.main_window import AppServices

    store = open_store()
    services = AppServices(models=ModelService(store=store), store=store)
    window = make_window(qtbot, services)
    yield window
    window.compare.stop()
    services.models.close()
    store.close()


def click(qtbot, button):
    from PySide6.QtCore import Qt

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_compare_makes_its_own_session_and_leaves_the_users_alone(
        qtbot, tmp_path, window, bundled_model):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QWizard

    # The user's session: a sentiment prompt with one case and a variant of their own.
    store = window.services.store
    composer = window.composer
    qtbot.keyClicks(composer.system_edit, "Classify the sentiment as positive or negative.")
    qtbot.keyClicks(composer.template_edit, "Review: {{ review }}")
    composer.set_cases([({"review": "A wonderful film."}, "positive")])
    click(qtbot, window.save_button)
    label = window.compare.variants.table.cellWidget(0, 0)
    label.setFocus()
    qtbot.keyClick(label, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(label, "My greedy")
    mine = window.workspace.session.id
    my_versions = store.prompts.history(window.workspace.prompt.id)
    my_cases = [(c.variables, c.expected) for c in window.workspace.case_set.cases]
    my_variants = window.compare.variants.rows()

    adapter = write_lora(tmp_path / "sentiment-lora.gguf", strength=0.02)
    job = store.jobs.add(TuneJob(mine, {"name": "sentiment-lora"}, status="done", artifacts={
        "adapter_gguf": str(adapter), "base_path": str(bundled_model)}))

    tune = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tune")
    next(a for a in tune.actions() if a.text() == "Tune a LoRA adapter…").trigger()
    wizard = window.tune.wizard
    try:
        next_button = wizard.button(QWizard.WizardButton.NextButton)
        qtbot.waitUntil(lambda: wizard.base is not None, timeout=30_000)
        click(qtbot, next_button)
        with qtbot.waitSignal(wizard.data_page.planned, timeout=30_000):
            wizard.data_page.import_files([str(write_chat_jsonl(tmp_path / "d.jsonl"))])
        held_out = wizard.held_out()
        assert held_out
        click(qtbot, next_button)  # settings
        click(qtbot, next_button)  # training
        wizard.train_page.on_finished(job)  # what the trainer reports when it is done
        click(qtbot, next_button)  # export and compare
        with qtbot.waitSignal(window.compare.run_finished, timeout=180_000):
            click(qtbot, wizard.export_page.compare_button)
        assert wizard.isVisible()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard, timeout=5_000)
    finally:
        wizard.close()

    # A new session, named after the adapter, holds the comparison.
    workspace = window.workspace
    assert workspace.session.id != mine
    assert "sentiment-lora" in workspace.session.name
    latest = workspace.latest
    assert (latest.system_prompt, latest.user_template) == ("", "{{ input }}")
    assert [(c.variables, c.expected) for c in workspace.case_set.cases] == [
        ({"input": q}, a) for q, a in held_out]
    run = store.runs.for_session(workspace.session.id)[-1]
    assert [(v.label, v.adapter_path, v.adapter_scale if v.adapter_path else None)
            for v in run.variants] == [("base", None, None),
                                       ("sentiment-lora ×1", str(adapter), 1.0),
                                       ("sentiment-lora ×0.5", str(adapter), 0.5)]
    outputs = store.runs.outputs(run.id)
    assert len(outputs) == 3 * len(held_out) and all(o.text and not o.error for o in outputs)
    assert [v.label for v in store.session_variants.get(workspace.session.id)] == [
        "base", "sentiment-lora ×1", "sentiment-lora ×0.5"]

    # The user's session is as they left it.
    assert store.prompts.history(store.prompts.prompts(mine)[0].id) == my_versions
    assert [(c.variables, c.expected)
            for c in store.case_sets.for_session(mine)[0].cases] == my_cases
    assert store.runs.for_session(mine) == []
    assert store.session_variants.get(mine) == my_variants
    assert my_variants[0].label == "My greedy"
