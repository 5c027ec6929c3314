"""File ▸ Import suite… on a file imported before opens the session of its earlier runs (as
``workbench eval`` joins it), not a second session of the same name: its run is there, and
the next run is the second point of its trend. The real menu, the bundled model, the real
database."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.test_eval_grid import SUITE, run_and_check
from tests.ui.test_eval_results import click_tab
from workbench.ui.evaluate import suite_actions


def import_through_the_menu(qtbot, window, wanted_banner: str) -> None:
    window.menus.suites.import_action.trigger()
    qtbot.waitUntil(lambda: wanted_banner in window.banner.label.text(), timeout=30_000)


def test_importing_a_suite_again_opens_its_session_with_its_runs_and_trend(
        main_window, qtbot, bundled_model, tmp_path, monkeypatch):
    path = tmp_path / "capitals.yaml"
    path.write_text(SUITE.replace("MODEL", str(bundled_model)), encoding="utf-8")
    monkeypatch.setattr(suite_actions, "ask_open_path", lambda *_: str(path))
    store = main_window.services.store

    import_through_the_menu(qtbot, main_window, "Imported the suite 'Capitals': ")
    session = main_window.workspace.session
    assert session.name == "eval: Capitals"
    run_and_check(qtbot, main_window)
    first_run = main_window.compare.run

    import_through_the_menu(qtbot, main_window,
                            "Imported the suite 'Capitals' again, into its existing session: ")
    assert [s.id for s in store.sessions.list() if s.name == "eval: Capitals"] == [session.id]
    assert main_window.workspace.session.id == session.id
    listed = main_window.sessions_panel.list
    assert [listed.item(i).text() for i in range(listed.count())].count("eval: Capitals") == 1
    assert main_window.sessions_panel.current_id() == session.id
    assert [run.id for run in store.runs.for_session(session.id)] == [first_run.id]
    assert main_window.compare.variants.label(0) == "smol"
    # the grid's run history lists the earlier run
    qtbot.waitUntil(lambda: main_window.compare.run_list.combo.count() == 1, timeout=10_000)

    # the next run of the suite joins the first in the Evaluation tab's trend
    with qtbot.waitSignal(main_window.compare.checks_done, timeout=120_000):
        qtbot.mouseClick(main_window.compare.run_button, Qt.MouseButton.LeftButton)
    assert main_window.compare.run.id != first_run.id
    view = main_window.eval_results
    click_tab(qtbot, main_window, "Evaluation")
    qtbot.waitUntil(lambda: view.report is not None, timeout=30_000)
    qtbot.waitUntil(lambda: list(view.trend_plot.lines) == ["smol"], timeout=30_000)
    xs, _ = view.trend_plot.lines["smol"].getData()
    assert list(xs) == [1.0, 2.0]
