"""The assertions editor on the test cases: typed into like a user does, refused with
validation's sentence when an entry cannot run, kept with the cases in the real database."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from workbench.core.evaluation import Assertion
from workbench.services.sessions import open_store
from workbench.services.workspace import CaseChecks, SetChecks, WorkspaceService
from workbench.ui.compose.cases_table import CasesTable

LEFT = Qt.MouseButton.LeftButton


def table_with_rows(qtbot, *countries) -> CasesTable:
    table = CasesTable()
    qtbot.addWidget(table)
    table.show()
    table.set_variables(["country"])
    for country in countries:
        table.add_row({"country": country}, None)
    return table


def open_dialog_for_row(qtbot, table: CasesTable, row: int):
    """Choose the row with a click, then the "Assertions…" button."""
    cell = table.table.visualItemRect(table.table.item(row, 0)).center()
    qtbot.mouseClick(table.table.viewport(), LEFT, pos=cell)
    qtbot.mouseClick(table.assertions_button, LEFT)
    dialog = table.assertions_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def add_assertion(qtbot, editor, kind: str, value: str, *, negate: bool = False):
    qtbot.mouseClick(editor.add_button, LEFT)
    row = editor.rows[-1]
    row.type.setCurrentText(kind)
    assert row.type.currentText() == kind  # a type the combo offers
    if negate:
        qtbot.mouseClick(row.negate, LEFT)
    row.value.setFocus()
    qtbot.keyClicks(row.value, value)
    return row


def press_ok(qtbot, dialog) -> None:
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    qtbot.mouseClick(ok, LEFT)


def checks_text(table: CasesTable, row: int) -> str:
    return table.table.item(row, table.table.columnCount() - 1).text()


def test_a_contains_assertion_typed_into_the_dialog_lands_on_the_case(qtbot):
    table = table_with_rows(qtbot, "Spain", "Peru")
    assert checks_text(table, 0) == ""
    dialog = open_dialog_for_row(qtbot, table, 1)
    assert "country=Peru" in dialog.windowTitle()
    add_assertion(qtbot, dialog.case_editor, "contains", "Lima")
    add_assertion(qtbot, dialog.case_editor, "regex", "^[A-Z]", negate=True)
    qtbot.keyClicks(dialog.case_threshold, "0.5")
    with qtbot.waitSignal(table.checks_edited):
        press_ok(qtbot, dialog)
    assert not dialog.isVisible()
    assert table.checks()[0] == CaseChecks()
    assert table.checks()[1] == CaseChecks((Assertion("contains", "Lima"),
                                            Assertion("regex", "^[A-Z]", negate=True)), 0.5)
    assert checks_text(table, 1) == "contains · not-regex"
    # A re-opened dialog shows what was kept.
    again = open_dialog_for_row(qtbot, table, 1)
    assert [r.value.toPlainText() for r in again.case_editor.rows] == ["Lima", "^[A-Z]"]
    assert again.case_editor.rows[1].negate.isChecked()


def test_entries_that_cannot_run_are_refused_with_the_reason_in_the_dialog(qtbot):
    table = table_with_rows(qtbot, "Spain")
    dialog = open_dialog_for_row(qtbot, table, 0)
    broken = add_assertion(qtbot, dialog.case_editor, "regex", "([")
    add_assertion(qtbot, dialog.case_editor, "is-json", "{not json")
    qtbot.keyClicks(dialog.case_threshold, "high")
    press_ok(qtbot, dialog)
    assert dialog.isVisible()  # refused: nothing applied, nothing dropped
    problem = dialog.problem.text()
    assert "This case, row 1: regex '([' does not compile" in problem
    assert "This case, row 2: is-json's JSON Schema is not valid JSON" in problem
    assert "the pass threshold must be a number, not 'high'" in problem
    assert table.checks()[0] == CaseChecks()
    # Fixed, the same dialog accepts.
    broken.value.clear()
    qtbot.keyClicks(broken.value, "M.d")
    dialog.case_editor.table.selectRow(1)
    qtbot.mouseClick(dialog.case_editor.remove_button, LEFT)
    dialog.case_threshold.clear()
    press_ok(qtbot, dialog)
    assert not dialog.isVisible()
    assert table.checks()[0].assertions == (Assertion("regex", "M.d"),)


def test_lists_one_per_line_and_a_json_schema_as_json_text(qtbot):
    table = table_with_rows(qtbot, "Spain")
    dialog = open_dialog_for_row(qtbot, table, 0)
    listed = add_assertion(qtbot, dialog.case_editor, "icontains-any", "Madrid")
    qtbot.keyClick(listed.value, Qt.Key.Key_Return)
    qtbot.keyClicks(listed.value, "madrid city")
    add_assertion(qtbot, dialog.case_editor, "is-json", '{"type": "object"}')
    press_ok(qtbot, dialog)
    assert table.checks()[0].assertions == (
        Assertion("icontains-any", ["Madrid", "madrid city"]),
        Assertion("is-json", {"type": "object"}))


def test_every_case_tab_keeps_shared_assertions_and_needs_a_judge_for_a_rubric(qtbot):
    table = table_with_rows(qtbot, "Spain", "Peru")
    table.judge_choices = lambda: ["smollm2-135m"]
    dialog = open_dialog_for_row(qtbot, table, 0)
    dialog.tabs.setCurrentIndex(1)
    add_assertion(qtbot, dialog.shared_editor, "llm-rubric", "names a capital city")
    press_ok(qtbot, dialog)
    assert dialog.isVisible()
    assert ("Every case, row 1: llm-rubric needs a judge model" in dialog.problem.text())
    assert [dialog.judge.itemText(i) for i in range(dialog.judge.count())] == ["",
                                                                                 "smollm2-135m"]
    dialog.judge.setCurrentIndex(1)
    press_ok(qtbot, dialog)
    assert not dialog.isVisible()
    assert table.shared == SetChecks((Assertion("llm-rubric", "names a capital city"),), None,
                                     "smollm2-135m")
    assert checks_text(table, 0) == "+1 shared" and checks_text(table, 1) == "+1 shared"


def test_double_click_on_the_checks_column_opens_the_dialog(qtbot):
    table = table_with_rows(qtbot, "Spain")
    checks = table.table.item(0, table.table.columnCount() - 1)
    assert not checks.flags() & Qt.ItemFlag.ItemIsEditable  # edited in the dialog only
    qtbot.waitExposed(table)
    where = table.table.visualItemRect(checks).center()
    # QTest's double-click only reaches the view after a press, as a real one's first click.
    qtbot.mouseClick(table.table.viewport(), LEFT, pos=where)
    qtbot.mouseDClick(table.table.viewport(), LEFT, pos=where)
    assert table.assertions_dialog is not None and table.assertions_dialog.isVisible()


def test_saved_cases_keep_assertions_threshold_description_and_set_defaults():
    store = open_store()
    try:
        service = WorkspaceService(store)
        workspace = service.create_session("checks")
        rubric = Assertion("llm-rubric", "polite", provider="judge-model")
        saved = service.save_cases(
            workspace.case_set, [({"country": "Spain"}, "Madrid"), ({"country": "Peru"}, None)],
            [CaseChecks((Assertion("contains", "Madrid"),), 0.5, "capital of Spain"),
             CaseChecks()],
            SetChecks((rubric,), 0.75, "judge-model"))
        reopened = service.open(workspace.session.id).case_set
        assert reopened == saved
        spain = reopened.cases[0]
        assert (spain.assertions, spain.threshold, spain.description) == (
            (Assertion("contains", "Madrid"),), 0.5, "capital of Spain")
        assert (reopened.default_assertions, reopened.default_threshold, reopened.judge) == (
            (rubric,), 0.75, "judge-model")
        # An edit of the values alone (a caller that knows no checks) keeps them by place.
        edited = service.save_cases(reopened, [({"country": "España"}, "Madrid"),
                                               ({"country": "Peru"}, "Lima")])
        assert edited.cases[0].assertions == (Assertion("contains", "Madrid"),)
        assert edited.cases[0].id == spain.id and edited.judge == "judge-model"
    finally:
        store.close()


def test_an_assert_set_keeps_its_own_assertions_through_the_editor(qtbot):
    from workbench.ui.evaluate.assertions_dialog import AssertionsEditor

    editor = AssertionsEditor([])
    qtbot.addWidget(editor)
    group = Assertion("assert-set", threshold=0.5, weight=2.0,
                      assertions=(Assertion("contains", "Paris"), Assertion("is-json")))
    editor.add_row(group)
    found, problems = editor.assertions("the case", None)
    assert problems == [] and found == [group]


def test_a_transform_and_a_cases_options_are_kept_through_the_editor_and_the_table(qtbot):
    from workbench.ui.evaluate.assertions_dialog import AssertionsEditor

    editor = AssertionsEditor([])
    qtbot.addWidget(editor)
    shouted = Assertion("contains", "PARIS", transform="output.toUpperCase()")
    editor.add_row(shouted)
    found, problems = editor.assertions("the case", None)
    assert problems == [] and found == [shouted]

    store = open_store()
    try:
        service = WorkspaceService(store)
        workspace = service.create_session("options")
        case_set = store.case_sets.save(replace(workspace.case_set,
                                                default_options={"transform": "output.trim()"}))
        saved = service.save_cases(case_set, [({"country": "Spain"}, None)])
        assert saved.cases[0].options == {"transform": "output.trim()"}  # a new row: defaults
        kept = store.case_sets.save(replace(saved, cases=(
            replace(saved.cases[0], options={"transformVars": "({x: 1})"}),)))
        edited = service.save_cases(kept, [({"country": "España"}, None)])
        assert edited.cases[0].options == {"transformVars": "({x: 1})"}  # kept by place
    finally:
        store.close()
