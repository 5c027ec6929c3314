"""The composer and the comparison grid, offscreen, on the real bundled model."""

from __future__ import annotations

import os
import signal
import time

from tests.ui.conftest import event_loop_gaps, make_window
from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus


def compose(window, *, examples=2, cases=("Spain", "Germany")):
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris"),
                                    FewShotExample("Italy", "Rome")][:examples])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": c}, None) for c in cases])


def set_variants(window, *rows):
    table = window.compare.variants
    table.table.setRowCount(0)
    for label, temperature, max_tokens in rows:
        table.add_variant(label, temperature=temperature, seed=0, max_tokens=max_tokens)


def run_and_wait(qtbot, window, timeout=120_000):
    with qtbot.waitSignal(window.compare.run_finished, timeout=timeout) as done:
        window.compare.run_button.click()
    return done.args[0]


def test_two_variants_two_cases_fill_four_cells_stored_and_reopened(qtbot, app_services):
    window = make_window(qtbot, app_services)
    compose(window)
    set_variants(window, ("greedy", 0.0, 12), ("warm", 0.8, 12))
    assert run_and_wait(qtbot, window) is RunStatus.DONE
    cells = window.compare.cells
    assert len(cells) == 4
    texts = {key: cell.text.toPlainText() for key, cell in cells.items()}
    assert all(texts.values())
    assert all("tok" in cell.stats.text() for cell in cells.values())
    session_id = window.workspace.session.id
    stored = app_services.store.runs.outputs(window.compare.run.id)
    assert len(stored) == 4 and {o.text for o in stored} == set(texts.values())
    window.close()

    reopened = make_window(qtbot, app_services)  # a new window on the same database
    assert reopened.workspace.session.id == session_id
    assert reopened.composer.template_edit.toPlainText() == "{{ country }}"
    assert len(reopened.composer.examples.examples()) == 2
    assert [v["country"] for v, _ in reopened.composer.cases.rows()] == ["Spain", "Germany"]
    assert {k: c.text.toPlainText() for k, c in reopened.compare.cells.items()} == texts


def test_stop_mid_run_within_a_second(main_window, qtbot):
    # No few-shot examples: they would go through the essay template and answer it in a word.
    compose(main_window, examples=0, cases=("a country with a long history",) * 3)
    main_window.composer.template_edit.setPlainText("Write a long essay about {{ country }}.")
    set_variants(main_window, ("a", 0.0, 400), ("b", 0.7, 400))
    with qtbot.waitSignal(main_window.compare.run_finished, timeout=60_000) as done:
        main_window.compare.run_button.click()
        qtbot.waitUntil(lambda: any(len(c.text.toPlainText()) > 20
                                    for c in main_window.compare.cells.values()), timeout=30_000)
        started = time.monotonic()
        main_window.compare.stop_button.click()
    # Generous for a loaded machine; the whole run would take ~20 s on 2 cores.
    assert time.monotonic() - started < 5.0
    assert done.args[0] is RunStatus.CANCELLED
    assert main_window.compare.run_button.isEnabled()


def test_rating_blind_mode_and_summary(main_window, qtbot):
    compose(main_window)
    set_variants(main_window, ("greedy", 0.0, 8), ("warm", 0.9, 8))
    run_and_wait(qtbot, main_window)
    compare = main_window.compare
    first, second = list(compare.cells.values())[:2]
    first.note.setText("spot on")
    first.rate(5)
    second.down.click()
    stored = app_services_ratings(main_window)
    assert sorted((r.score, r.note) for r in stored) == [(1, ""), (5, "spot on")]
    # Clicking through the dialog is tests/ui/test_grid_judging.py's; here: what it shows,
    # and that each judgement is stored against the outputs that were on screen.
    dialog = compare.open_blind(exec_dialog=False)
    assert len(dialog.pairs) == 2  # one pair of variants per case
    run_outputs = {o.id: o for o in compare.outputs.values()}
    on_screen = []
    for choice in (dialog.first_better, dialog.tie):
        left, right = dialog.shown
        assert {left.id, right.id} <= set(run_outputs) and left.variant_id != right.variant_id
        assert left.case_id == right.case_id
        assert (dialog.left.toPlainText(), dialog.right.toPlainText()) == (left.text, right.text)
        assert "greedy" not in dialog.case.text() and "warm" not in dialog.case.text()
        on_screen.append((left.id, right.id))
        choice.click()
    preferences = compare.preferences
    assert [(p.output_a_id, p.output_b_id) for p in preferences] == on_screen
    assert [p.winner for p in preferences] == ["a", "tie"] and all(p.blind for p in preferences)
    summary = compare.summary
    rows = {summary.item(r, 0).text(): [summary.item(r, c).text() for c in range(1, 5)]
            for r in range(summary.rowCount())}
    wins = [rows[label][2] for label in ("greedy", "warm")]
    assert sorted(wins) == sorted(["1 / 0 / 1", "0 / 1 / 1"])


def app_services_ratings(window):
    ids = [o.id for o in window.compare.outputs.values()]
    return window.services.store.ratings.ratings_for(ids)


def test_versions_history_diff_restore(main_window, qtbot):
    compose(main_window)
    first = main_window.save_version("first")
    main_window.composer.system_edit.setPlainText("Answer with the capital city only, in French.")
    second = main_window.save_version("french")
    assert second.parent_id == first.id
    history = main_window.history_panel
    assert history.list.count() == 2
    history.select_numbers(1, 2)
    dialog = history.diff_selected(exec_dialog=False)
    inserted = [p.text for p in dialog.parts if p.op == "insert"]
    assert any("French" in text for text in inserted)
    history.select_numbers(1)
    history.restore_button.click()
    assert main_window.composer.system_edit.toPlainText() == "Answer with the capital city only."
    third = main_window.save_version("back to plain")
    assert third.parent_id == second.id and third.content_hash == first.content_hash


def test_output_diff_between_two_cells(main_window, qtbot):
    compose(main_window, cases=("Spain",))
    set_variants(main_window, ("greedy", 0.0, 16), ("hot", 1.5, 16))
    run_and_wait(qtbot, main_window)
    grid = main_window.compare.grid
    grid.setCurrentCell(0, 0)
    grid.item(0, 0).setSelected(True)
    grid.item(0, 1).setSelected(True)
    dialog = main_window.compare.diff_selected(exec_dialog=False)
    old = "".join(p.text for p in dialog.parts if p.op != "insert")
    new = "".join(p.text for p in dialog.parts if p.op != "delete")
    outputs = main_window.compare.selected_outputs()
    assert (old, new) == (outputs[0].text, outputs[1].text)


def test_context_warning_when_examples_exceed_the_window(qtbot, app_services):
    window = make_window(qtbot, app_services)
    window.picker.n_ctx.setValue(256)
    with qtbot.waitSignal(window.models.loaded, timeout=60_000):
        window.picker.load()
    compose(window)
    long = "a very long example sentence that keeps going " * 8
    window.composer.examples.set_examples([FewShotExample(long, long) for _ in range(3)])
    qtbot.waitUntil(lambda: "context window holds 256" in
                    window.composer.context_bar.warning.text(), timeout=10_000)
    assert window.composer.context_bar.warning.isVisible()
    assert window.composer.budget.prompt > 256


def test_bad_input_is_shown_in_place_and_nothing_typed_is_lost(main_window, qtbot):
    compose(main_window)
    main_window.composer.template_edit.setPlainText("{{ country }} near {{ river }}")
    qtbot.waitUntil(lambda: "'river'" in main_window.composer.context_bar.warning.text(),
                    timeout=10_000)
    # The table grew a 'river' column; the user never filled it in.
    assert main_window.composer.cases.variables == ["country", "river"]
    set_variants(main_window, ("only", 0.0, 8))
    run_and_wait(qtbot, main_window)
    errors = [c.error.text() for c in main_window.compare.cells.values()]
    assert errors and all("'river'" in e for e in errors)
    assert main_window.composer.template_edit.toPlainText() == "{{ country }} near {{ river }}"


def test_the_model_dying_mid_run_marks_cells_and_keeps_partial_text(main_window, qtbot):
    compose(main_window, examples=0, cases=("Spain", "Peru"))  # see test_stop_mid_run
    main_window.composer.template_edit.setPlainText("Write a long essay about {{ country }}.")
    set_variants(main_window, ("a", 0.0, 300))
    with qtbot.waitSignal(main_window.compare.run_finished, timeout=60_000):
        main_window.compare.run_button.click()
        qtbot.waitUntil(lambda: any(len(c.text.toPlainText()) > 30
                                    for c in main_window.compare.cells.values()), timeout=30_000)
        os.kill(main_window.models.host.pid, signal.SIGKILL)
    cells = list(main_window.compare.cells.values())
    assert "model process ended" in cells[0].error.text()
    assert len(cells[0].text.toPlainText()) > 30  # the partial answer is kept
    stored = main_window.services.store.runs.outputs(main_window.compare.run.id)
    assert any(o.error and len(o.text) > 30 for o in stored)


def test_unsaved_edits_come_back_after_a_crash(qtbot, app_services):
    window = make_window(qtbot, app_services)
    compose(window)
    window.save_version()
    window.composer.system_edit.setPlainText("An edit nobody saved")
    qtbot.waitUntil(lambda: not window._draft_timer.isActive(), timeout=5_000)
    session_id = window.workspace.session.id
    window.hide()  # no closeEvent: as if the app had crashed
    again = make_window(qtbot, app_services)
    assert again.workspace.session.id == session_id  # the crashed session reopens by itself
    assert again.composer.system_edit.toPlainText() == "An edit nobody saved"
    assert "Restored unsaved edits" in again.banner.text


def test_gui_stays_responsive_while_four_columns_stream(main_window, qtbot):
    compose(main_window, cases=("Spain", "Chile"))
    main_window.composer.template_edit.setPlainText("Tell me about {{ country }}.")
    set_variants(main_window, *[(f"v{i}", 0.3 * i, 40) for i in range(4)])
    with event_loop_gaps() as gaps:
        status = run_and_wait(qtbot, main_window)
    assert status is RunStatus.DONE and len(main_window.compare.cells) == 8
    assert len(gaps) > 50
    assert max(gaps) < 100, f"the event loop stalled for {max(gaps)} ms"
