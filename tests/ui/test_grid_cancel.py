"""Stop during a run: stopped and never-started cells are 'cancelled', not failures."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from workbench.core.runs import RunStatus

LEFT = Qt.MouseButton.LeftButton


def test_stop_marks_cells_cancelled_not_failed(main_window, qtbot):
    composer = main_window.composer
    composer.system_edit.setPlainText("You write long essays.")
    composer.examples.set_examples([])
    composer.template_edit.setPlainText("Write a long essay about {{ country }}.")
    composer.set_cases([({"country": c}, None) for c in ("Spain", "Peru", "Chile", "Japan")])
    table = main_window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("a", temperature=0.0, seed=0, max_tokens=400)
    table.add_variant("b", temperature=0.7, seed=0, max_tokens=400)
    compare = main_window.compare
    with qtbot.waitSignal(compare.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(compare.run_button, LEFT)
        qtbot.waitUntil(lambda: any(len(c.text.toPlainText()) > 20
                                    for c in compare.cells.values()), timeout=60_000)
        qtbot.mouseClick(compare.stop_button, LEFT)
    assert done.args[0] is RunStatus.CANCELLED

    line = compare.state.text()
    found = re.fullmatch(r"Run cancelled — (\d+) of 8 cells done, (\d+) cancelled", line)
    assert found, line  # no "failed" in it
    answered, cancelled = map(int, found.groups())
    assert answered + cancelled == 8 and cancelled >= 1

    stopped = [c for c in compare.cells.values() if c.output is None or c.output.cancelled]
    assert len(stopped) == cancelled
    for cell in stopped:  # neutral notice, no red error
        assert cell.error.isHidden() and not cell.notice.isHidden()
        assert "Cancelled" in cell.notice.text()
    summary = compare.summary
    per_variant = [(int(summary.item(r, 1).text()), summary.item(r, 5).text())
                   for r in range(summary.rowCount())]
    assert sum(outputs for outputs, _ in per_variant) == answered
    assert sum(int(f.split(" / ")[1]) for _, f in per_variant) == cancelled
    assert all(f.startswith("0 / ") for _, f in per_variant)  # none failed


def test_the_state_line_follows_the_run_s_progress(main_window, qtbot):
    """The run is a job: its progress in cells reaches the state line through the one bridge."""
    composer = main_window.composer
    composer.template_edit.setPlainText("Name a city in {{ country }}.")
    composer.set_cases([({"country": c}, None)
                        for c in ("Spain", "Peru", "Chile", "Japan", "Kenya", "Chad")])
    table = main_window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("a", temperature=0.0, seed=0, max_tokens=48)
    compare = main_window.compare
    seen = set()
    with qtbot.waitSignal(compare.run_finished, timeout=120_000):
        qtbot.mouseClick(compare.run_button, LEFT)
        qtbot.waitUntil(lambda: seen.add(compare.state.text()) or any(
            re.search(r": [1-5] of 6 cells done…$", line) for line in seen), timeout=60_000)
    assert compare.state.text().startswith("Run done")
