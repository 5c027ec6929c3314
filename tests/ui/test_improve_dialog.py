"""The Improve dialog driven as a user drives it, on real parts: the bundled model as target and
proposer, a real session database, the window's own widgets clicked. Tiny tasks and budgets (the
six checked reviews and the 20-generation budget of the engine's tests): the machine is small
and shared."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.plugins.test_openai_compat_cli import free_port, start_server
from tests.services.test_improve_job import request, sentiment_session
from tests.ui.conftest import make_window
from workbench.core.improve import CANCELLED, DONE, FAILED, INTERRUPTED
from workbench.services.improve import AllowedChanges, ImproveService

RUN_TIMEOUT_MS = 1_200_000  # a whole tiny search, on a loaded shared machine


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def close(dialog, window) -> None:
    """The dialog first, then the window, as a user leaves."""
    dialog.close()
    window.close()


def open_dialog(qtbot, app_services, model: str | None = None):
    """The window on the sentiment session, with one greedy 6-token variant as the target (the
    model bar's model, or ``model``); the dialog opened by the toolbar's Improve… button (beside
    Save version), set to a tiny budget."""
    service = ImproveService(app_services.evaluation)
    session_id = sentiment_session(service)
    window = make_window(qtbot, app_services)
    assert window.workspace.session.id == session_id
    variants = window.compare.variants
    variants.table.setRowCount(0)
    variants.add_variant("tiny", model=model, temperature=0.0, seed=0, max_tokens=6)
    click(qtbot, window.improve_button)
    dialog = window.experiments.dialogs["improve"]
    assert dialog.isVisible()
    form = dialog.form
    assert form.target.count() == 1 and form.target.currentText().startswith("tiny — ")
    assert form.proposer.currentData() is None  # the proposer is the target's model
    form.generations.setValue(20)
    form.held_out.setValue(34)
    form.seed.setValue(1)
    return window, dialog, service, session_id


def test_a_search_shows_its_progress_evidence_and_the_version_it_found(qtbot, app_services):
    window, dialog, service, session_id = open_dialog(qtbot, app_services)
    versions_before = window.history_panel.list.count()
    progress_seen = []
    dialog.progress.valueChanged.connect(progress_seen.append)

    click(qtbot, dialog.start_button)
    assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: bool(dialog.plot.points and dialog.table.rowCount()),
                    timeout=RUN_TIMEOUT_MS)
    assert dialog.table.item(0, 0).text().startswith("start")
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=RUN_TIMEOUT_MS)

    outcome = dialog.outcome
    assert outcome.status == DONE, dialog.status.text()
    assert progress_seen and dialog.progress.maximum() == outcome.spent.generations <= 20
    assert dialog.status.text().startswith("Done:")
    # the plot: training points as the search went, the held-out rates at the end
    assert [x for x, _ in dialog.plot.points] == sorted(x for x, _ in dialog.plot.points)
    assert set(dialog.plot.held_out) == {"start", "best"}
    assert dialog.plot.held_out["best"][1] == outcome.evidence.winner_rate
    # the evidence sentence, with the verdict and the test
    text = dialog.evidence.text()
    assert outcome.evidence.verdict.capitalize() in text
    assert "exact McNemar p = " in text and f"{outcome.evidence.start_passed}/" in text
    # every candidate is a row with its lineage; the best one is labelled
    assert dialog.table.rowCount() == len(outcome.candidates)
    best_row = dialog.table.row_of(outcome.best.id)
    label = "winner" if outcome.winner is not None else "best candidate"
    assert dialog.table.item(best_row, 0).text() == f"{outcome.best.slot} ({label})"
    for row, candidate in enumerate(outcome.candidates[1:], 1):
        parent = next(c for c in outcome.candidates if c.id == candidate.parent_id)
        assert dialog.table.item(row, 1).text() == parent.slot
    qtbot.waitUntil(lambda: "alike" in dialog.diff.toPlainText(), timeout=60_000)

    # Use this version, from another session: the window goes back to the job's session, the
    # composer shows the best, the history panel lists it
    window.create_session("another session")
    assert window.workspace.session.id != session_id
    assert dialog.use_button.isEnabled()
    click(qtbot, dialog.use_button)
    qtbot.waitUntil(lambda: window.workspace.session.id == session_id
                    and window.history_panel.list.count() == versions_before + 1,
                    timeout=60_000)
    best = app_services.store.prompts.version(outcome.best.version_id)
    system, examples, template = window.composer.content()
    assert (system, tuple(examples), template) == (best.system_prompt, best.examples,
                                                     best.user_template)
    assert "adopted" in window.history_panel.list.item(0).text()
    assert window.workspace.latest.parent_id == best.id

    # a double-click on the start's row opens the start in the composer
    start = app_services.store.prompts.version(outcome.start.version_id)
    rect = dialog.table.visualItemRect(dialog.table.item(0, 2))
    qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.composer.content()[2] == start.user_template
                    and window.composer.content()[0] == start.system_prompt, timeout=60_000)
    close(dialog, window)


def test_cancel_stops_the_search_keeps_its_steps_and_offers_resume(qtbot, app_services):
    window, dialog, service, session_id = open_dialog(qtbot, app_services)
    click(qtbot, dialog.form.instruction)  # examples only: no proposer calls
    assert not dialog.form.instruction.isChecked()

    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    click(qtbot, dialog.cancel_button)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=RUN_TIMEOUT_MS)

    outcome = dialog.outcome
    assert outcome.status == CANCELLED and outcome.evidence is None
    assert dialog.status.text().startswith("Cancelled")
    assert service.find(outcome.job.id).status == CANCELLED
    assert not dialog.use_button.isEnabled()
    assert "held-out comparison has not run" in dialog.evidence.text()
    qtbot.waitUntil(dialog.resume_button.isEnabled, timeout=60_000)
    assert outcome.job.id[:8] in dialog.resume_button.toolTip()
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()
    close(dialog, window)


def test_an_interrupted_job_is_offered_when_its_session_opens_and_resumes(qtbot, app_services):
    service = ImproveService(app_services.evaluation)
    session_id = sentiment_session(service)
    # What a process killed as the job began leaves: a job stored as running, its lease free.
    job = service.create(request(session_id, allowed=AllowedChanges(instruction=False)))
    assert service.find(job.id).status == INTERRUPTED

    window = make_window(qtbot, app_services)
    offer = window.experiments.improve_offer
    qtbot.waitUntil(offer.isVisible, timeout=60_000)
    assert job.id[:8] in offer.text and "interrupted" in offer.text

    click(qtbot, offer.resume_button)
    dialog = window.experiments.dialogs["improve"]
    assert dialog.isVisible() and not offer.isVisible()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=RUN_TIMEOUT_MS)
    assert dialog.outcome.status == DONE, dialog.status.text()
    assert dialog.outcome.job.id == job.id
    assert service.find(job.id).status == DONE
    assert dialog.table.rowCount() == len(dialog.outcome.candidates)
    assert dialog.plot.points and set(dialog.plot.held_out) == {"start", "best"}
    qtbot.waitUntil(lambda: not dialog.resume_button.isEnabled()
                    and "none now" in dialog.resume_button.toolTip(), timeout=60_000)
    close(dialog, window)


def test_a_search_whose_server_dies_says_why_and_resumes_once_it_is_back(
        qtbot, app_services, tmp_path, bundled_model):
    """The target is a llama_cpp.server. Down at Start: nothing starts, the dialog says why.
    Up, then SIGKILLed once the start is scored: the job fails saying it cannot reach it, the
    reason stays on screen, Resume is offered (and refused while the server is still down);
    the user starts the server again and clicks Resume, and the job ends."""
    from workbench.services.plugins import start_plugins

    start_plugins(app_services.models)  # as the app does: the openai+ backend
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    window, dialog, service, session_id = open_dialog(
        qtbot, app_services, model=f"openai+{base}?model=smollm2")
    click(qtbot, dialog.form.instruction)  # examples only: no proposer calls
    dialog.form.generations.setValue(60)  # room for the kill to land amid the search

    def serve(log_name: str):
        return start_server(["--model", str(bundled_model), "--n_ctx", "1024",
                             "--model_alias", "smollm2"], tmp_path / log_name, port)

    click(qtbot, dialog.start_button)  # the server is not up yet
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=60_000)
    assert dialog.status.text().startswith("Nothing was started: the target model"), \
        dialog.status.text()
    assert base in dialog.status.text() and service.jobs(session_id) == []

    server, log, _ = serve("server.log")
    try:
        click(qtbot, dialog.start_button)
        qtbot.waitUntil(lambda: dialog.table.rowCount() > 0 or dialog.failure is not None,
                        timeout=RUN_TIMEOUT_MS)
    finally:
        server.kill()
        server.wait(10)
        log.close()
    qtbot.waitUntil(lambda: dialog.failure is not None, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(dialog.resume_button.isEnabled, timeout=60_000)
    assert "Cannot reach" in dialog.status.text() and "Resume" in dialog.status.text()
    (failed,) = service.resumable(session_id)
    assert failed.status == FAILED and failed.id[:8] in dialog.resume_button.toolTip()

    click(qtbot, dialog.resume_button)  # the server is still down: refused, nothing lost
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Nothing was started"),
                    timeout=60_000)
    assert service.find(failed.id).status == FAILED

    server, log, _ = serve("server-again.log")
    try:
        qtbot.waitUntil(dialog.resume_button.isEnabled, timeout=60_000)
        click(qtbot, dialog.resume_button)
        qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=RUN_TIMEOUT_MS)
    finally:
        server.kill()
        server.wait(10)
        log.close()
    assert dialog.outcome.status == DONE and dialog.outcome.job.id == failed.id, \
        dialog.status.text()
    assert dialog.failure is None and "Cannot reach" not in dialog.status.text()
    assert service.find(failed.id).status == DONE
    close(dialog, window)
