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


def test_a_retrieval_column_shows_whole_answers_under_its_grounding_line(qtbot, app_services,
                                                                        tmp_path):
    """The grounding line under a retrieved answer counts in its row's height (it once did
    not: the answer got a line and a half and a scrollbar)."""
    from PySide6.QtWidgets import QDialogButtonBox

    from tests.retrieval_use.test_retrieval_gui import choose, compose_questions, with_document_set
    from tests.ui.conftest import make_window
    from workbench.ui.compare.variants_table import RETRIEVAL_COLUMN

    window = make_window(qtbot, app_services)
    window.resize(1600, 1000)
    with_document_set(qtbot, window, tmp_path)
    compose_questions(window)
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("no retrieval", temperature=0.0, seed=0, max_tokens=60)
    table.add_variant("bm25", temperature=0.0, seed=0, max_tokens=60)
    button = table.table.cellWidget(1, RETRIEVAL_COLUMN)
    qtbot.mouseClick(button, LEFT)
    choose(qtbot, button.dialog.set_combo, "handbook")
    choose(qtbot, button.dialog.mode_combo, "BM25")
    qtbot.mouseClick(button.dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)
    compare = window.compare
    with qtbot.waitSignal(compare.run_finished, timeout=180_000) as done:
        qtbot.mouseClick(compare.run_button, LEFT)
    assert done.args[0] is RunStatus.DONE
    retrieved = compare.run.variants[1].id
    cells = [cell for (variant_id, _), cell in compare.cells.items() if variant_id == retrieved]
    qtbot.waitUntil(lambda: all(c.grounding.isVisibleTo(c) for c in cells), timeout=30_000)
    qtbot.waitUntil(lambda: not compare._fit_timer.isActive(), timeout=5_000)

    grid, header = compare.grid, compare.grid.verticalHeader()
    for row in range(grid.rowCount()):
        cell = grid.cellWidget(row, 1)
        assert cell in cells and cell.text.toPlainText()
        lines = cell.text.document().lineCount()
        assert lines < TEXT_LINES_CAP
        # The row holds the cell as it wants to be, and the text box the whole answer.
        assert header.sectionSize(row) >= cell.wanted_height(grid.columnWidth(1))
    qtbot.waitUntil(lambda: all(
        c.text.viewport().height() >= c.text.document().lineCount()
        * c.text.fontMetrics().lineSpacing() for c in cells), timeout=5_000)
    assert all(c.text.verticalScrollBar().maximum() == 0 for c in cells)
