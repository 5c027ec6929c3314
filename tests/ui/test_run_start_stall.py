"""Starting a run never stalls the window: the model check, its load and the first tokens all
happen off the GUI thread (a Run froze the window for 5–8 s when the GGUF check ran on it)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import event_loop_gaps
from tests.ui.test_workbench import compose, run_and_wait, set_variants
from workbench.core.runs import RunStatus


def test_a_run_on_a_model_not_yet_loaded_starts_without_a_stall(main_window, qtbot):
    compose(main_window, cases=("Spain", "Chile"))
    set_variants(main_window, ("a", 0.0, 16), ("b", 0.7, 16), ("c", 0.9, 16))
    # Engine flags no loaded model has: the run must check and load a new one.
    qtbot.mouseClick(main_window.compare.variants.table.cellWidget(0, 9),
                     Qt.MouseButton.LeftButton)
    for row in range(3):
        edit = main_window.compare.variants.table.cellWidget(row, 9)
        edit.clear()
        qtbot.keyClicks(edit, "-np 3 -fa off")
    loaded_before = len(main_window.services.models.loaded())
    with event_loop_gaps() as gaps:
        status = run_and_wait(qtbot, main_window)
    assert status is RunStatus.DONE
    assert len(main_window.services.models.loaded()) == loaded_before + 1  # it did load
    assert len(gaps) > 20
    assert max(gaps) < 100, f"the event loop stalled for {max(gaps)} ms"
