"""A run over more cases than a page: the grid shows a page of cells at a time, the run and
its counts cover every case, and ▶/◀ page through them with their answers."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from workbench.core.runs import RunStatus
from workbench.ui.compare.grid_pages import PAGE_CASES

LEFT = Qt.MouseButton.LeftButton


def test_a_run_of_many_cases_pages_through_them(qtbot, app_services):
    window = make_window(qtbot, app_services)
    composer, compare = window.composer, window.compare
    total = PAGE_CASES + 5
    composer.system_edit.setPlainText("")
    composer.template_edit.setPlainText("Say a word about {{ n }}.")
    composer.set_cases([({"n": str(i)}, None) for i in range(total)])
    compare.variants.table.setRowCount(0)
    compare.variants.add_variant("short", temperature=0.0, seed=0, max_tokens=2)
    with qtbot.waitSignal(compare.run_finished, timeout=240_000) as done:
        qtbot.mouseClick(compare.run_button, LEFT)
    assert done.args[0] is RunStatus.DONE
    assert compare.page_bar.isVisible()
    assert compare.page_label.text() == f"cases 1–{PAGE_CASES} of {total}"
    assert not compare.page_back.isEnabled() and compare.page_next.isEnabled()
    assert compare.state.text().startswith(f"Run done — {total} of {total} cells done")
    qtbot.waitUntil(lambda: len(compare.cells) == PAGE_CASES, timeout=10_000)
    assert len(compare.outputs) == total

    qtbot.mouseClick(compare.page_next, LEFT)
    assert compare.page_label.text() == f"cases {PAGE_CASES + 1}–{total} of {total}"
    assert len(compare.cells) == 5 and not compare.page_next.isEnabled()
    assert all(cell.output is not None and cell.output.case_id == case_id
               for (_, case_id), cell in compare.cells.items())
    assert compare.grid.verticalHeaderItem(0).text().startswith(f"{PAGE_CASES + 1}. n=")
    qtbot.mouseClick(compare.page_back, LEFT)
    qtbot.waitUntil(lambda: len(compare.cells) == PAGE_CASES, timeout=10_000)
    assert all(cell.output is not None for cell in compare.cells.values())
    window.close()
