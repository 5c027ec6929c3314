"""The tune wizard offscreen, opened from the real main window: base → data → settings →
train → export → the base-vs-tuned comparison in the window's grid; and resuming a job."""

from __future__ import annotations

import pytest

from .helpers import write_chat_jsonl

pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot):
    from PySide6.QtCore import QSettings

    from workbench.core.paths import app_paths
    from workbench.services.models import ModelService
    from workbench.services.sessions import open_store
    from workbench.ui.main_window import AppServices, MainWindow

    store = open_store()
    services = AppServices(models=ModelService(store=store), store=store)
    settings = QSettings(str(app_paths().ensure().config / "window.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(services, settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.models.loaded, timeout=60_000):
        window.start()
    yield window
    window.compare.stop()
    services.models.close()
    store.close()


def test_wizard_from_data_to_a_comparison_in_the_grid(qtbot, tmp_path, window, bundled_model):
    data = write_chat_jsonl(tmp_path / "d.jsonl")
    with open(data, "a") as handle:
        handle.write("{broken\n")
    window.composer.system_edit.setPlainText("Answer in one sentence.")
    window.composer.template_edit.setPlainText("{{question}}")
    window.composer.set_cases([({"question": "What is the capital of Zorblax?"}, None)])
    window.save_button.click()
    users_session = window.workspace.session.id
    wizard = window.tune.open_wizard()
    try:
        qtbot.waitUntil(lambda: wizard.base is not None, timeout=30_000)
        assert wizard.base.path == str(bundled_model)
        assert "llama" in wizard.base_page.info.text()
        wizard.next()

        page = wizard.data_page
        assert not page.isComplete()
        with qtbot.waitSignal(page.planned, timeout=30_000):
            page.import_files([str(data)])
        assert page.isComplete(), page.summary.text()
        assert "8 examples" in page.summary.text() and "1 left out" in page.summary.text()
        assert page.problems.item(0).text().startswith("d.jsonl:9: not valid JSON")
        assert "&lt;|im_start|&gt;assistant" in page.preview.toHtml()
        assert sum(page.histogram.histogram.counts) == 8
        wizard.next()

        settings = wizard.settings_page
        settings.preset.setCurrentText("balanced")
        assert settings.rank.value() == 16 and settings.targets["down_proj"].isChecked()
        settings.preset.setCurrentText("quick")
        settings.rank.setValue(4)
        settings.max_steps.setValue(3)
        settings.batch.setValue(2)
        settings.max_length.setValue(64)
        settings.name.setText("wizard-adapter")
        assert "3 steps" in settings.estimate.text()
        wizard.next()

        train = wizard.train_page
        assert not train.isComplete()
        train.start_button.click()
        qtbot.waitUntil(lambda: wizard.job is not None, timeout=180_000)
        assert wizard.job.status == "done", wizard.job.error
        assert [s for s, _ in train.plot.series["loss"]] == [1, 2, 3]
        assert "Done" in train.status.text()
        wizard.next()

        assert "wizard-adapter.gguf" in wizard.export_page.summary.text()
        with qtbot.waitSignal(window.compare.run_finished, timeout=180_000):
            wizard.export_page.compare_button.click()
    finally:
        wizard.close()
    run = window.services.store.runs.for_session(window.workspace.session.id)[-1]
    assert [v.label for v in run.variants] == specs_labels()
    adapter = wizard.job.artifacts["adapter_gguf"]
    assert [(v.adapter_path, v.adapter_scale if v.adapter_path else None)
            for v in run.variants] == [(None, None), (adapter, 1.0), (adapter, 0.5)]
    assert {v.model_path for v in run.variants} == {str(bundled_model)}
    # the comparison has a session of its own: the held-out (validation) examples are its
    # cases, with their answers expected; the user's session keeps its one case
    held_out = wizard.held_out()
    assert window.workspace.session.id != users_session
    cases = {c.variables["input"]: c.expected for c in window.workspace.case_set.cases}
    assert held_out and all(cases.get(q) == a for q, a in held_out), (held_out, cases)
    assert [c.variables for c in store_cases(window, users_session)] == [
        {"question": "What is the capital of Zorblax?"}]
    outputs = window.services.store.runs.outputs(run.id)
    assert len(outputs) == 3 * len(cases) and all(o.text and not o.error for o in outputs)
    # the adapter is offered to every variant row from now on
    assert adapter in [path for _, path in window.compare.variants.adapters]


def store_cases(window, session_id):
    return window.services.store.case_sets.for_session(session_id)[0].cases


def specs_labels():
    return ["base", "wizard-adapter ×1", "wizard-adapter ×0.5"]


def test_a_stopped_job_is_offered_in_the_tune_menu_and_opens_ready_to_resume(
        qtbot, tmp_path, window):
    from workbench.core.tune_jobs import MetricPoint, TuneJob
    from workbench.tuning.job_files import JobFolder

    store = window.services.store
    folder = JobFolder(tmp_path / "job")
    job = store.jobs.add(TuneJob(session_id=None, config={"name": "halfway"}))
    folder.create({"job_id": job.id}, [], [])
    store.jobs.update(job.id, status="cancelled", artifacts={
        "folder": str(folder.root), "total_steps": "10"},
        new_metrics=[MetricPoint(s, "loss", 3.0 / s) for s in (1, 2, 3)])
    store.jobs.add(TuneJob(session_id=None, config={"name": "finished"}, status="done"))

    menu = window.tune.resume_menu
    menu.aboutToShow.emit()
    entries = [a.text() for a in menu.actions()]
    assert len(entries) == 1 and entries[0].startswith("halfway (cancelled, ")
    menu.actions()[0].trigger()
    wizard = window.tune.wizard
    try:
        assert wizard.currentPage() is wizard.train_page
        assert wizard.train_page.start_button.text() == "Resume"
        assert [s for s, _ in wizard.train_page.plot.series["loss"]] == [1, 2, 3]
        assert wizard.train_page.plot.total_steps == 10
    finally:
        wizard.close()
