"""Blind compare and Diff, reached the way a user reaches them: by clicking their buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt

from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus

LEFT = Qt.MouseButton.LeftButton


def compose_and_run(qtbot, window, cases=("Spain", "Germany")):
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris")])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": c}, None) for c in cases])
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("greedy", temperature=0.0, seed=0, max_tokens=8)
    table.add_variant("hot", temperature=1.5, seed=3, max_tokens=8)
    with qtbot.waitSignal(window.compare.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(window.compare.run_button, LEFT)
    assert done.args[0] is RunStatus.DONE


def summary_rows(compare) -> dict[str, str]:
    """Variant label -> its 'wins / losses / ties' cell."""
    table = compare.summary
    return {table.item(r, 0).text(): table.item(r, 3).text() for r in range(table.rowCount())}


def test_blind_compare_button_opens_the_dialog_and_choices_reach_the_summary(main_window, qtbot):
    compose_and_run(qtbot, main_window)
    compare = main_window.compare
    assert summary_rows(compare) == {"greedy": "0 / 0 / 0", "hot": "0 / 0 / 0"}
    qtbot.mouseClick(compare.blind_button, LEFT)
    dialog = compare.blind_dialog
    assert dialog is not None and dialog.isVisible()
    assert len(dialog.pairs) == 2  # one pair per case
    qtbot.mouseClick(dialog.first_better, LEFT)
    qtbot.mouseClick(dialog.tie, LEFT)
    assert not dialog.isVisible()  # both pairs judged: the dialog closes itself
    assert sorted(summary_rows(compare).values()) == ["0 / 1 / 1", "1 / 0 / 1"]
    ids = [o.id for o in compare.outputs.values()]
    stored = main_window.services.store.ratings.preferences_for(ids)
    assert sorted(p.winner for p in stored) == ["a", "tie"] and all(p.blind for p in stored)


def test_diff_button_with_two_picked_cells_opens_their_diff(main_window, qtbot):
    compose_and_run(qtbot, main_window, cases=("Spain",))
    compare = main_window.compare
    qtbot.mouseClick(compare.diff_button, LEFT)  # nothing picked yet: told what to do
    assert compare.diff_dialog is None
    assert "exactly two" in compare.banner.label.text() and "0 chosen" in compare.banner.label.text()
    greedy, hot = (compare.grid.cellWidget(0, c) for c in range(2))
    qtbot.mouseClick(greedy.pick, LEFT)
    qtbot.mouseClick(hot.pick, LEFT)
    qtbot.mouseClick(compare.diff_button, LEFT)
    dialog = compare.diff_dialog
    assert dialog is not None and dialog.isVisible()
    old = "".join(p.text for p in dialog.parts if p.op != "insert")
    new = "".join(p.text for p in dialog.parts if p.op != "delete")
    assert (old, new) == (greedy.text.toPlainText(), hot.text.toPlainText())
