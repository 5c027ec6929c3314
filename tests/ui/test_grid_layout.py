"""The grid at the size a user runs it (1600×1000): rows fit their content, the case and its
expected answer are readable, short answers make short rows."""

from __future__ import annotations

from PySide6.QtCore import Qt

from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus
from workbench.ui.compare.output_cell import TEXT_LINES_CAP

LEFT = Qt.MouseButton.LeftButton
LONG_CASE = "a small country in the south of Europe between Spain and France, in the mountains"


def test_rows_fit_their_answers_and_show_the_case_and_expected_answer(main_window, qtbot):
    main_window.resize(1600, 1000)
    composer = main_window.composer
    composer.system_edit.setPlainText("Answer the question.")
    composer.examples.set_examples([FewShotExample("Capital of France?", "Paris")])
    composer.template_edit.setPlainText("{{ question }}")
    composer.set_cases([({"question": "Capital of Spain? One word."}, "Madrid"),
                        ({"question": f"Describe {LONG_CASE} at length."}, "Andorra")])
    table = main_window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("a", temperature=0.0, seed=0, max_tokens=3)
    table.add_variant("b", temperature=0.7, seed=1, max_tokens=3)
    compare = main_window.compare
    with qtbot.waitSignal(compare.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(compare.run_button, LEFT)
    assert done.args[0] is RunStatus.DONE
    grid, header = compare.grid, compare.grid.verticalHeader()
    qtbot.waitUntil(lambda: not compare._fit_timer.isActive(), timeout=5_000)

    first, second = grid.verticalHeaderItem(0), grid.verticalHeaderItem(1)
    assert "expected: Madrid" in first.text() and "expected: Andorra" in second.text()
    assert "in the mountains" in second.toolTip() and "Andorra" in second.toolTip()
    assert second.text().count("\n") >= 2  # the long case wraps instead of being cut
    for row in range(2):
        label_lines = grid.verticalHeaderItem(row).text().count("\n") + 1
        assert header.sectionSize(row) >= label_lines * header.fontMetrics().lineSpacing()
        for column in range(2):
            cell = grid.cellWidget(row, column)
            assert cell.wanted_height(grid.columnWidth(column)) <= header.sectionSize(row)
    # Three-token answers: short rows, several cases visible at once (the old rows were 140).
    assert header.sectionSize(0) < 140
    visible = grid.viewport().height() // header.sectionSize(0)
    assert visible >= 2

    # Longer answers grow their rows, up to a cap, and nothing is cut off.
    short_rows = [header.sectionSize(r) for r in range(2)]
    composer.template_edit.setPlainText("Write a long essay: {{ question }}")
    for row in range(table.table.rowCount()):
        spin = table.table.cellWidget(row, 7)  # max tokens
        qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(spin, "200")
        assert spin.value() == 200
    with qtbot.waitSignal(compare.run_finished, timeout=120_000):
        qtbot.mouseClick(compare.run_button, LEFT)
    qtbot.waitUntil(lambda: not compare._fit_timer.isActive(), timeout=5_000)
    def longest(row):
        return max(len(grid.cellWidget(row, c).text.toPlainText()) for c in range(2))

    grown = max(range(2), key=longest)
    assert longest(grown) > 300  # an essay
    assert short_rows[grown] < header.sectionSize(grown) < 400  # grew, up to the cap
    for row in range(2):
        if longest(row) < 40:  # a one-line answer keeps a short row
            assert header.sectionSize(row) < 100
        for column in range(2):
            cell = grid.cellWidget(row, column)
            assert cell.wanted_height(grid.columnWidth(column)) <= header.sectionSize(row)
    # Under the cap the whole answer is on screen: its text box needs no scrolling.
    boxes = [grid.cellWidget(r, c).text for r in range(2) for c in range(2)]
    boxes = [b for b in boxes if b.document().lineCount() < TEXT_LINES_CAP]
    assert boxes
    qtbot.waitUntil(lambda: all(b.verticalScrollBar().maximum() == 0 for b in boxes),
                    timeout=5_000)
