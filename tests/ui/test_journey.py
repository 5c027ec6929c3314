"""A new user's first hour, as one journey through the real window on the real bundled model.

New session → a templated prompt with examples and cases typed in → Run → Stop → Run again →
ratings (one with a note) → Blind compare → Diff → save version → File ▸ Quit → restart,
checking what is on screen at each step. Every step is a click, a key or typing; no panel
method is called.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from tests.ui.conftest import make_window
from tests.ui.test_examples_template import type_row, type_template, wait_for_preview
from workbench.core.runs import RunStatus

LEFT = Qt.MouseButton.LeftButton


def test_a_sentiment_session_from_scratch_to_restart(qtbot, app_services, monkeypatch):
    window = make_window(qtbot, app_services)
    window.activateWindow()

    # New session (File ▸ New session…), named in the dialog.
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Sentiment", True))
    window.menus.new_action.trigger()
    qtbot.waitUntil(lambda: window.workspace.session.name == "Sentiment")
    assert window.windowTitle().endswith("Sentiment — Prompt Workbench")
    assert [window.compare.variants.label(r) for r in range(2)] == ["Greedy", "Creative"]

    # The prompt: system, template with a variable, two examples and two cases, typed.
    composer = window.composer
    qtbot.mouseClick(composer.system_edit.viewport(), LEFT)
    qtbot.keyClicks(composer.system_edit, "Classify the review as positive or negative.")
    type_template(qtbot, composer, "Review: {{ review }}", "Sentiment:")
    type_row(qtbot, composer.examples, "Loved every minute of it", "positive")
    type_row(qtbot, composer.examples, "A waste of two hours", "negative")
    type_row(qtbot, composer.cases, "The acting was superb")
    type_row(qtbot, composer.cases, "I fell asleep halfway")
    preview = wait_for_preview(qtbot, composer, "Review: Loved every minute of it\nSentiment:",
                               "Review: I fell asleep halfway\nSentiment:")  # the selected case
    assert preview.index("positive") < preview.index("negative") < preview.index("fell asleep")
    assert window.windowTitle().startswith("● ")  # unsaved edits

    # Run, then Stop (Esc) while it streams: stopped cells are cancelled, not failed.
    table = window.compare.variants
    for row in range(2):
        spin = table.table.cellWidget(row, 7)
        spin.selectAll()
        qtbot.keyClicks(spin, "200")
    compare = window.compare
    with qtbot.waitSignal(compare.run_finished, timeout=120_000) as stopped:
        qtbot.mouseClick(compare.run_button, LEFT)
        qtbot.waitUntil(lambda: any(c.text.toPlainText() for c in compare.cells.values()),
                        timeout=60_000)
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert stopped.args[0] is RunStatus.CANCELLED
    assert "Run cancelled" in compare.state.text() and "failed" not in compare.state.text()
    assert window.windowTitle() == "Sentiment — Prompt Workbench"  # Run saved a version
    versions = len(window.workspace.history)

    # Run again to the end, with short answers.
    for row in range(2):
        spin = table.table.cellWidget(row, 7)
        spin.selectAll()
        qtbot.keyClicks(spin, "6")
    with qtbot.waitSignal(compare.run_finished, timeout=120_000) as done:
        qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert done.args[0] is RunStatus.DONE
    qtbot.waitUntil(lambda: compare.run_list.combo.currentText().endswith("done"))
    assert len(window.workspace.history) == versions  # the same prompt: no new version
    cells = [compare.grid.cellWidget(r, c) for r in range(2) for c in range(2)]
    assert all(cell.text.toPlainText() for cell in cells)

    # Ratings: thumbs up on the first cell, down on the second.
    qtbot.mouseClick(cells[0].up, LEFT)
    qtbot.mouseClick(cells[1].down, LEFT)
    ratings = app_services.store.ratings.ratings_for([c.output.id for c in cells[:2]])
    assert sorted(r.score for r in ratings) == [1, 5]
    # Five stars on the third cell, then a note under them, stored with Return.
    noted = cells[2]
    qtbot.keyClicks(noted.stars, "5")
    qtbot.mouseClick(noted.note, LEFT)
    qtbot.keyClicks(noted.note, "clean answer")
    qtbot.keyClick(noted.note, Qt.Key.Key_Return)
    latest = app_services.store.ratings.ratings_for([noted.output.id])[-1]
    assert (latest.score, latest.note) == (5, "clean answer")

    # Blind compare: one pair per case; judge both.
    qtbot.mouseClick(compare.blind_button, LEFT)
    dialog = compare.blind_dialog
    assert dialog is not None and dialog.isVisible() and len(dialog.pairs) == 2
    qtbot.mouseClick(dialog.first_better, LEFT)
    qtbot.mouseClick(dialog.tie, LEFT)
    assert not dialog.isVisible()
    wins = [compare.summary.item(r, 3).text() for r in range(compare.summary.rowCount())]
    assert sorted(wins) == ["0 / 1 / 1", "1 / 0 / 1"]

    # Diff the two variants of the first case.
    qtbot.mouseClick(cells[0].pick, LEFT)
    qtbot.mouseClick(cells[1].pick, LEFT)
    qtbot.mouseClick(compare.diff_button, LEFT)
    assert compare.diff_dialog is not None and compare.diff_dialog.isVisible()
    compare.diff_dialog.close()

    # Save a version with Ctrl+S after an edit.
    qtbot.mouseClick(composer.system_edit.viewport(), LEFT)
    qtbot.keyClick(composer.system_edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(composer.system_edit, " Answer in one word.")
    assert window.windowTitle().startswith("● ")
    qtbot.keyClick(composer.system_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(window.workspace.history) == versions + 1
    assert window.windowTitle() == "Sentiment — Prompt Workbench"
    texts = {key: cell.text.toPlainText() for key, cell in compare.cells.items()}
    noted_key, thumbs_key = noted.key, cells[0].key
    quit_action = next(a for a in window.menus.menus[0].actions() if a.text() == "&Quit")
    quit_action.trigger()  # File ▸ Quit
    assert not window.isVisible()

    # Restart: the same session, prompt, examples, cases, variants, runs, ratings and notes.
    again = make_window(qtbot, app_services)
    assert again.workspace.session.name == "Sentiment"
    assert again.composer.system_edit.toPlainText().endswith("Answer in one word.")
    assert again.composer.template_edit.toPlainText() == "Review: {{ review }}\nSentiment:"
    assert len(again.composer.examples.examples()) == 2
    assert len(again.composer.cases.rows()) == 2
    assert [again.compare.variants.label(r) for r in range(2)] == ["Greedy", "Creative"]
    assert again.compare.variants.table.cellWidget(0, 7).value() == 6
    assert {k: c.text.toPlainText() for k, c in again.compare.cells.items()} == texts
    restored = again.compare.cells[noted_key]
    assert (restored.stars.currentText(), restored.note.text()) == ("5", "clean answer")
    assert again.compare.cells[thumbs_key].note.text() == ""  # rated, without a note
    assert "Restored unsaved edits" not in again.banner.text
    qtbot.waitUntil(lambda: again.compare.run_list.combo.count() >= 2)  # both runs are listed
