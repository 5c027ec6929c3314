"""Earlier runs stay reachable: the run list above the grid opens any of them, with its
ratings and the plugins' scores, also after a restart."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus
from workbench.plugins.manager import PluginManager
from workbench.services.models import ModelService
from workbench.services.sessions import open_store
from workbench.ui.main_window import AppServices

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def services_with_plugins():
    services = AppServices(models=ModelService(), store=open_store(),
                           plugins=PluginManager().load())
    yield services
    services.models.close()
    services.store.close()


def compose(window, variant_label: str):
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris")])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": "Spain"}, "Madrid"), ({"country": "Peru"}, "Lima")])
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant(variant_label, temperature=0.0, seed=0, max_tokens=6)


def run(qtbot, window):
    with qtbot.waitSignal(window.compare.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(window.compare.run_button, LEFT)
    assert done.args[0] is RunStatus.DONE


def texts(compare):
    return {key: cell.text.toPlainText() for key, cell in compare.cells.items()}


def test_pick_the_first_run_and_see_its_texts_ratings_and_scores(qtbot, services_with_plugins):
    window = make_window(qtbot, services_with_plugins)
    compare = window.compare
    compose(window, "first")
    run(qtbot, window)
    first_run, first_texts = compare.run, texts(compare)
    first_cell = compare.grid.cellWidget(0, 0)
    qtbot.mouseClick(first_cell.up, LEFT)  # thumbs up: 5 stars
    qtbot.waitUntil(lambda: "Scores:" in first_cell.scores.text(), timeout=10_000)

    compose(window, "second")
    run(qtbot, window)
    combo = compare.run_list.combo
    qtbot.waitUntil(lambda: combo.count() == 2 and compare.run_list.isEnabled(), timeout=10_000)
    assert "second" in combo.itemText(0) and "first" in combo.itemText(1)  # newest first
    assert combo.currentIndex() == 0
    assert compare.run.id != first_run.id

    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # the user chooses the earlier run
    qtbot.waitUntil(lambda: compare.run.id == first_run.id, timeout=10_000)
    assert texts(compare) == first_texts
    assert compare.grid.horizontalHeaderItem(0).text() == "first"
    shown = compare.grid.cellWidget(0, 0)
    assert shown.stars.currentIndex() == 5  # its rating came back
    summary = compare.summary
    assert summary.item(0, 2).text().startswith("5.00")
    assert "exact match" in shown.scores.text() and not shown.scores.isHidden()
    window.close()

    # A restart shows the latest run; its scores are computed again.
    again = make_window(qtbot, services_with_plugins)
    assert again.compare.run.id != first_run.id
    cell = again.compare.grid.cellWidget(0, 0)
    qtbot.waitUntil(lambda: "contains expected" in cell.scores.text(), timeout=10_000)
    qtbot.waitUntil(lambda: again.compare.run_list.combo.count() == 2, timeout=10_000)
