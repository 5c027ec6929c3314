"""An every-case check whose value is a template, typed into the cases' dialog: Run refuses, at
once and with nothing generated, while a case lacks what the value uses (the check and the case
named); once the case has its expected answer, each cell is checked against its own case's
answer; Re-check after the answer is emptied again says so instead of failing the cells. Real
bundled model, real store, real widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.test_assertions_dialog import add_assertion, open_dialog_for_row, press_ok
from tests.ui.test_eval_grid import run_and_check
from tests.ui.test_one_pass_rate import type_expected
from workbench.core.prompts import FewShotExample

LEFT = Qt.MouseButton.LeftButton


def test_a_templated_check_is_refused_before_the_run_then_checks_each_case(main_window, qtbot):
    composer, compare = main_window.composer, main_window.compare
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris")])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": "Spain"}, "Madrid"), ({"country": "Peru"}, None)])
    compare.variants.table.setRowCount(0)
    compare.variants.add_variant("greedy", temperature=0.0, seed=0, max_tokens=8)
    dialog = open_dialog_for_row(qtbot, composer.cases, 0)
    tab_bar = dialog.tabs.tabBar()
    qtbot.mouseClick(tab_bar, LEFT, pos=tab_bar.tabRect(1).center())  # "Every case"
    add_assertion(qtbot, dialog.shared_editor, "icontains", "{{ expected }}")
    press_ok(qtbot, dialog)
    assert not dialog.isVisible(), dialog.problem.text()

    qtbot.mouseClick(compare.run_button, LEFT)
    assert compare.banner.label.text() == (
        "Nothing was run. The every-case check 'icontains' cannot run on case 2: its value "
        "'{{ expected }}' cannot be rendered: 'expected' is undefined.")
    assert compare.banner.isVisible() and not compare.running
    session = main_window.workspace.session.id
    assert main_window.services.store.runs.listing(session) == []  # nothing generated

    type_expected(qtbot, composer.cases, 1, "Lima")
    run_and_check(qtbot, main_window)
    store = main_window.services.store
    for row, expected in enumerate(("Madrid", "Lima")):
        cell = compare.grid.cellWidget(row, 0)
        (result,) = store.evaluations.result_for_output(cell.output.id).verdict.results
        assert result.passed == (expected.lower() in cell.output.text.lower())
        assert result.reason in ("", f"does not contain '{expected}'")  # its own answer
        assert result.assertion.value == "{{ expected }}"  # reported as written

    type_expected(qtbot, composer.cases, 1, "")
    verdicts = [r.verdict for r in store.evaluations.results(compare.run.id)]
    compare.banner.dismiss()
    qtbot.mouseClick(compare.recheck_button, LEFT)
    qtbot.waitUntil(lambda: compare.banner.isVisible(), timeout=30_000)
    assert compare.banner.label.text().startswith(
        "Nothing was run. The every-case check 'icontains' cannot run on case 2")
    assert [r.verdict for r in store.evaluations.results(compare.run.id)] == verdicts
    qtbot.waitUntil(compare.recheck_button.isEnabled)
