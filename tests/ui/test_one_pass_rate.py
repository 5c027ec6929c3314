"""One set of numbers: after a cell is branched by clicking in its token view, the grid's pass
line, the Evaluation tab's table and the trend all show the same pass rate, and it leaves the
branch out (a branch is an exploration, not a sample). The check is an every-case
``starts-with {{ expected }}`` typed into the cases' dialog, so each case is held to its own
expected answer. Real bundled model, real store, real widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.test_assertions_dialog import add_assertion, open_dialog_for_row, press_ok
from tests.ui.test_eval_grid import run_and_check
from tests.ui.test_eval_results import click_tab
from workbench.core.prompts import FewShotExample
from workbench.core.sampling import SamplingSettings
from workbench.ui.compose.table_editing import open_editor

LEFT = Qt.MouseButton.LeftButton
CASES = (("Spain", "Madrid"), ("Germany", "Berlin"), ("Italy", "Rome"))


def compose(qtbot, window) -> None:
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris")])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": c}, expected) for c, expected in CASES])
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("greedy", temperature=0.0, seed=0, max_tokens=6,
                      sampling=SamplingSettings(logprobs=5))
    dialog = open_dialog_for_row(qtbot, composer.cases, 0)
    tab_bar = dialog.tabs.tabBar()
    qtbot.mouseClick(tab_bar, LEFT, pos=tab_bar.tabRect(1).center())  # "Every case"
    add_assertion(qtbot, dialog.shared_editor, "starts-with", "{{ expected }}")
    press_ok(qtbot, dialog)
    assert not dialog.isVisible(), dialog.problem.text()


def branch_first_token(qtbot, compare, cell, expected: str):
    """Click the cell's Tokens button, its first token, then an alternative that cannot start
    the expected answer (so the branch fails ``starts-with``); return the branch's verdict."""
    original = cell.output
    qtbot.mouseClick(cell.tokens_button, LEFT)
    view = cell.token_view
    qtbot.waitUntil(lambda: view.trace is not None, timeout=10_000)
    qtbot.mouseClick(view.flow, LEFT, pos=view.flow.token_rect(0).center())
    first = original.token_trace.tokens[0].token_id
    number = next(n for n, alt in enumerate(view.trace.tokens[0].top)
                  if alt.token_id != first and alt.text.strip() and "\ufffd" not in alt.text
                  and not expected.startswith(alt.text.strip())
                  and not alt.text.strip().startswith(expected))
    with qtbot.waitSignal(compare.bridge.evaluated, timeout=60_000,
                          check_params_cb=lambda r: r.output_id != original.id) as checked:
        qtbot.mouseClick(view.alternative_buttons[number], LEFT)
    qtbot.waitUntil(lambda: not compare.running, timeout=60_000)
    branch = checked.args[0]
    assert branch.branch_of == original.id and cell.output.id == branch.output_id
    return branch


def type_expected(qtbot, cases_table, row: int, text: str) -> None:
    """Click the row's expected cell and type over it, as a user corrects an answer."""
    table = cases_table.table
    column = table.columnCount() - 2  # "expected", before "checks"
    qtbot.mouseClick(table.viewport(), LEFT, pos=table.visualItemRect(table.item(row, column))
                     .center())
    qtbot.waitUntil(lambda: open_editor(table) is not None)
    editor = open_editor(table)
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_editor(table) is None)
    assert (cases_table.rows()[row][1] or "") == text  # an emptied cell: no expected answer


def test_a_branch_changes_no_view_and_every_view_says_the_same(main_window, qtbot):
    compose(qtbot, main_window)
    compare, store = main_window.compare, main_window.services.store
    run_and_check(qtbot, main_window)  # an earlier run: the trend needs two
    # The small model rarely names the capital; the user takes its first word as the expected
    # answer of case 1 (greedy: the next run says the same), so that cell passes.
    said = compare.grid.cellWidget(0, 0).output.text.split()[0]
    type_expected(qtbot, main_window.composer.cases, 0, said)
    run_and_check(qtbot, main_window)
    run = compare.run
    parents = {r.case_id: r for r in store.evaluations.results(run.id)}
    passed = sum(r.passed for r in parents.values())
    assert parents[compare.cases[0].id].passed, parents[compare.cases[0].id].verdict.reason
    assert compare.pass_line.text() == f"greedy {passed}/3 pass"

    branch = branch_first_token(qtbot, compare, compare.grid.cellWidget(0, 0), said)
    assert not branch.passed  # had it replaced its parent: {passed - 1}/3
    qtbot.waitUntil(lambda: "branch" in compare.pass_line.text(), timeout=10_000)
    assert compare.pass_line.text() == \
        f"greedy {passed}/3 pass (+1 branch: 0 pass, not counted)"

    view = main_window.eval_results
    click_tab(qtbot, main_window, "Evaluation")
    qtbot.waitUntil(lambda: view.report is not None and view.report.variants[0].branches == 1,
                    timeout=30_000)
    row = [view.pass_table.item(0, c).text() for c in range(3)]
    assert row == ["greedy", f"{passed}/3  (+1 branch)", f"{passed / 3:.0%}"]
    assert view.pass_table.item(0, 1).toolTip() == "+1 branch: 0 pass, not counted"
    xs, ys = view.trend_plot.lines["greedy"].getData()
    assert list(xs) == [1.0, 2.0] and ys[-1] == passed / 3  # the shown run, same number
