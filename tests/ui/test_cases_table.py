"""The test-case table: columns follow the template's variables ('expected' always last), and
cells take typing without a double-click."""

from __future__ import annotations

from PySide6.QtCore import Qt

from workbench.ui.compose.cases_table import CasesTable
from workbench.ui.compose.table_editing import open_editor


def headers(table: CasesTable) -> list[str]:
    return [table.table.horizontalHeaderItem(i).text() for i in range(table.table.columnCount())]


def test_columns_follow_the_variables(qtbot):
    table = CasesTable()
    qtbot.addWidget(table)
    assert headers(table) == ["expected", "checks"]  # an empty template: no "1" placeholder
    table.set_variables(["country"])
    table.add_row({"country": "Peru"}, "Lima")
    assert headers(table) == ["country", "expected", "checks"]
    table.set_variables(["country", "style"])
    assert table.rows() == [({"country": "Peru", "style": ""}, "Lima")]


def typing_cell(qtbot, table):
    qtbot.waitUntil(lambda: open_editor(table.table) is not None)
    return open_editor(table.table)


def test_a_new_row_takes_typing_at_once_and_a_click_edits_a_cell(qtbot):
    table = CasesTable()
    qtbot.addWidget(table)
    table.show()
    qtbot.waitExposed(table)
    table.set_variables(["country"])
    qtbot.mouseClick(table.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(typing_cell(qtbot, table), "Peru")  # no double-click first
    qtbot.keyClick(typing_cell(qtbot, table), Qt.Key.Key_Return)  # commits a moment later
    qtbot.waitUntil(lambda: open_editor(table.table) is None)
    assert table.rows() == [({"country": "Peru"}, None)]
    cell = table.table.visualItemRect(table.table.item(0, 1)).center()
    qtbot.mouseClick(table.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)  # one click
    qtbot.keyClicks(typing_cell(qtbot, table), "Lima")
    qtbot.keyClick(typing_cell(qtbot, table), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_editor(table.table) is None)
    assert table.rows() == [({"country": "Peru"}, "Lima")]
