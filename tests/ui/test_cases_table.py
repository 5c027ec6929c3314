"""The test-case table's columns follow the template's variables, 'expected' always last."""

from __future__ import annotations

from workbench.ui.cases_table import CasesTable


def headers(table: CasesTable) -> list[str]:
    return [table.table.horizontalHeaderItem(i).text() for i in range(table.table.columnCount())]


def test_columns_follow_the_variables(qtbot):
    table = CasesTable()
    qtbot.addWidget(table)
    assert headers(table) == ["expected"]  # an empty template: no "1" placeholder
    table.set_variables(["country"])
    table.add_row({"country": "Peru"}, "Lima")
    assert headers(table) == ["country", "expected"]
    table.set_variables(["country", "style"])
    assert table.rows() == [({"country": "Peru", "style": ""}, "Lima")]
