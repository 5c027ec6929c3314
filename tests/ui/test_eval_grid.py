"""Pass/fail in the comparison grid: assertions typed into the cases' dialog, checked as each
output arrives with the real bundled model, kept in the real database, re-checked after an
edit, repeats counted, and suites imported and exported through the File menu."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.test_assertions_dialog import add_assertion, open_dialog_for_row, press_ok
from workbench.core.evaluation import Assertion
from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus
from workbench.services.evaluation.suite_file import load_suite
from workbench.ui.evaluate import suite_actions

LEFT = Qt.MouseButton.LeftButton
NEVER = "zzqx"  # a text a capital city's name never contains


def compose(window, countries=("Spain", "Germany")) -> None:
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris")])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": c}, None) for c in countries])
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("greedy", temperature=0.0, seed=0, max_tokens=8)


def give_assertion(qtbot, window, row: int, kind: str, value: str, *, negate=False) -> None:
    """Through the cases table's "Assertions…" button, typing into the dialog."""
    dialog = open_dialog_for_row(qtbot, window.composer.cases, row)
    add_assertion(qtbot, dialog.case_editor, kind, value, negate=negate)
    press_ok(qtbot, dialog)
    assert not dialog.isVisible(), dialog.problem.text()


def run_and_check(qtbot, window) -> None:
    """Click Run; return once the run ended and its verdicts are final (finish ran)."""
    compare = window.compare
    statuses = []
    compare.run_finished.connect(statuses.append)
    with qtbot.waitSignal(compare.checks_done, timeout=120_000):
        qtbot.mouseClick(compare.run_button, LEFT)
    assert statuses == [RunStatus.DONE]


def cell(window, row: int, column: int = 0):
    return window.compare.grid.cellWidget(row, column)


def test_a_run_shows_pass_and_fail_badges_that_come_back_with_the_session(main_window, qtbot):
    compose(main_window)
    give_assertion(qtbot, main_window, 0, "contains", NEVER)
    give_assertion(qtbot, main_window, 1, "contains", NEVER, negate=True)
    assert main_window.composer.cases.table.item(0, 2).text() == "contains"
    run_and_check(qtbot, main_window)
    spain, germany = cell(main_window, 0), cell(main_window, 1)
    assert spain.badge.text() == "✗ fail 0.00"
    assert spain.reason.text() == f"contains: does not contain '{NEVER}'"
    assert spain.badge.toolTip().startswith(f"contains: does not contain '{NEVER}'")
    assert germany.badge.text() == "✓ pass" and germany.reason.isHidden()
    assert main_window.compare.pass_line.text() == "greedy 1/2 pass"
    run_id = main_window.compare.run.id
    stored = main_window.services.store.evaluations.results(run_id)
    assert sorted(r.passed for r in stored) == [False, True]
    assert main_window.services.store.evaluations.eval_run(run_id).summary  # finish ran

    # Away to another session and back: the stored verdicts are shown again.
    first = main_window.workspace.session.id
    main_window.create_session("elsewhere")
    assert cell(main_window, 0) is None or cell(main_window, 0).badge.isHidden()
    with qtbot.waitSignal(main_window.compare.checks_done, timeout=10_000):
        item = next(main_window.sessions_panel.list.item(i)
                    for i in range(main_window.sessions_panel.list.count())
                    if main_window.sessions_panel.list.item(i).data(
                        Qt.ItemDataRole.UserRole) == first)
        rect = main_window.sessions_panel.list.visualItemRect(item)
        qtbot.mouseClick(main_window.sessions_panel.list.viewport(), LEFT, pos=rect.center())
    assert main_window.compare.run.id == run_id
    assert cell(main_window, 0).badge.text() == "✗ fail 0.00"
    assert cell(main_window, 1).badge.text() == "✓ pass"
    assert main_window.compare.pass_line.text() == "greedy 1/2 pass"
    # The assertions came back with the cases.
    assert main_window.composer.cases.checks()[0].assertions == (Assertion("contains", NEVER),)


def test_recheck_after_editing_an_assertion_flips_the_badge(main_window, qtbot):
    compose(main_window, ("Spain",))
    give_assertion(qtbot, main_window, 0, "contains", NEVER)
    run_and_check(qtbot, main_window)
    assert cell(main_window, 0).badge.text() == "✗ fail 0.00"
    dialog = open_dialog_for_row(qtbot, main_window.composer.cases, 0)
    qtbot.mouseClick(dialog.case_editor.rows[0].negate, LEFT)  # contains → not-contains
    press_ok(qtbot, dialog)
    compare = main_window.compare
    assert compare.recheck_button.isEnabled()
    with qtbot.waitSignal(compare.checks_done, timeout=30_000):
        qtbot.mouseClick(compare.recheck_button, LEFT)
    assert cell(main_window, 0).badge.text() == "✓ pass"
    assert compare.pass_line.text() == "greedy 1/1 pass"
    assert compare.state.text() == "Re-checked: 1 of 1 outputs pass"
    stored = main_window.services.store.evaluations.results(compare.run.id)
    assert [r.passed for r in stored] == [True]  # the new verdict replaced the old
    # A cell generated again is checked as it arrives, like the run's own.
    with qtbot.waitSignal(compare.bridge.evaluated, timeout=60_000) as checked:
        qtbot.mouseClick(cell(main_window, 0).rerun, LEFT)
    qtbot.waitUntil(lambda: not compare.running)
    assert checked.args[0].output_id == cell(main_window, 0).output.id
    assert cell(main_window, 0).badge.text() == "✓ pass"


def test_three_greedy_repeats_are_one_distinct_answer(main_window, qtbot):
    compose(main_window, ("Spain",))
    give_assertion(qtbot, main_window, 0, "contains", NEVER, negate=True)
    spin = main_window.compare.repeats_spin
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "3")
    assert spin.value() == 3
    run_and_check(qtbot, main_window)
    shown = cell(main_window, 0)
    assert shown.repeats.text() == "3 repeats · 1 distinct · 3/3 pass"
    assert shown.repeats.toolTip().startswith("3× ")
    assert shown.text.toPlainText() and shown.output.repeat == 0
    outputs = main_window.services.store.runs.outputs(main_window.compare.run.id)
    assert sorted(o.repeat for o in outputs) == [0, 1, 2]
    assert len({o.text for o in outputs}) == 1
    assert main_window.compare.pass_line.text() == "greedy 3/3 pass"


SUITE = """description: Capitals
prompts:
  - "Name the capital of {{country}} in one word."
providers:
  - id: MODEL
    label: smol
    config: {temperature: 0, max_tokens: 8}
defaultTest:
  assert:
    - type: max-length
      value: 400
tests:
  - description: Spain's capital
    vars: {country: Spain}
    assert:
      - type: icontains
        value: madrid
  - vars: {country: Peru}
    assert:
      - type: not-contains
        value: zzqx
"""


def test_import_suite_opens_its_session_and_export_writes_it_back(main_window, qtbot,
                                                                  bundled_model, tmp_path,
                                                                  monkeypatch):
    path = tmp_path / "capitals.yaml"
    path.write_text(SUITE.replace("MODEL", str(bundled_model)), encoding="utf-8")
    monkeypatch.setattr(suite_actions, "ask_open_path", lambda *_: str(path))
    before = main_window.workspace.session.id
    main_window.menus.suites.import_action.trigger()
    qtbot.waitUntil(lambda: main_window.workspace.session.id != before, timeout=10_000)
    assert main_window.workspace.session.name == "eval: Capitals"
    cases = main_window.composer.cases
    assert cases.rows() == [({"country": "Spain"}, None), ({"country": "Peru"}, None)]
    assert [cases.table.item(r, 2).text() for r in range(2)] == [
        "icontains +1 shared", "not-contains +1 shared"]
    assert cases.shared.default_assertions == (Assertion("max-length", 400),)
    assert main_window.composer.template_edit.toPlainText() == \
        "Name the capital of {{country}} in one word."
    assert main_window.compare.variants.label(0) == "smol"

    # Export: the same session back as a suite file, assertions and all.
    out = tmp_path / "exported.yaml"
    monkeypatch.setattr(suite_actions, "ask_save_path", lambda *_: str(out))
    main_window.menus.suites.export_action.trigger()
    qtbot.waitUntil(out.exists, timeout=10_000)
    suite = load_suite(out)
    assert [t.vars for t in suite.tests] == [{"country": "Spain"}, {"country": "Peru"}]
    assert [a.name for t in suite.tests for a in t.assertions] == ["icontains", "not-contains"]
    assert [a.name for a in suite.default_assertions] == ["max-length"]
    assert suite.tests[0].description == "Spain's capital"


def test_a_suites_retrieval_reaches_the_variants_table_and_is_exported_back(
        main_window, qtbot, bundled_model, tmp_path, monkeypatch):
    from workbench.core.retrieval import RetrievalSettings
    from workbench.services.evaluation.suite_retrieval import retrieval_of

    path = tmp_path / "with-docs.yaml"
    path.write_text(SUITE.replace("MODEL", str(bundled_model)).replace(
        "config: {temperature: 0, max_tokens: 8}",
        "config: {temperature: 0, max_tokens: 8, retrieval: {set: atlas, mode: bm25, k: 2}}"),
        encoding="utf-8")
    monkeypatch.setattr(suite_actions, "ask_open_path", lambda *_: str(path))
    before = main_window.workspace.session.id
    main_window.menus.suites.import_action.trigger()
    qtbot.waitUntil(lambda: main_window.workspace.session.id != before, timeout=10_000)
    # imported all the same; the banner says the set is not there yet
    assert "atlas" in main_window.banner.label.text()
    variants = main_window.compare.variants
    assert variants.retrieval(0) == RetrievalSettings("atlas", "bm25", 2)
    out = tmp_path / "exported.yaml"
    monkeypatch.setattr(suite_actions, "ask_save_path", lambda *_: str(out))
    main_window.menus.suites.export_action.trigger()
    qtbot.waitUntil(out.exists, timeout=10_000)
    [provider] = load_suite(out).providers
    assert retrieval_of(provider) == RetrievalSettings("atlas", "bm25", 2)


def test_a_broken_suite_shows_its_problems_line_by_line(main_window, qtbot, tmp_path: Path,
                                                       monkeypatch):
    path = tmp_path / "broken.yaml"
    path.write_text(SUITE.replace("type: icontains", "type: regex").replace(
        "value: madrid", "value: '(['") + "scenarios: []\n", encoding="utf-8")
    monkeypatch.setattr(suite_actions, "ask_open_path", lambda *_: str(path))
    before = main_window.workspace.session.id
    main_window.menus.suites.import_action.trigger()
    qtbot.waitUntil(lambda: main_window.menus.suites.message_box is not None, timeout=10_000)
    box = main_window.menus.suites.message_box
    assert box.isVisible()
    lines = box.text().splitlines()
    # the file's own problems (a model that is not there yet does not refuse an import)
    assert lines[0] == "The suite has 2 problems:"
    assert lines[1].startswith(f"{path}:16: ") and "does not compile" in lines[1]
    assert lines[2].startswith(f"{path}:22: ") and "scenarios" in lines[2]
    assert main_window.workspace.session.id == before  # nothing was opened
    assert [s.name for s in main_window.services.store.sessions.list()
            if s.name.startswith("eval:")] == []  # nor stored
