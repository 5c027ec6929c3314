"""The window finds a run whose process was killed (kill -9 of a real `workbench eval`) as
interrupted, says how far it got, and Resume fills only its missing cells in place."""

from __future__ import annotations

import os
import signal
import time

from PySide6.QtCore import Qt

from tests.cli.test_eval_cli import suite
from tests.cli.test_eval_resume import COUNTRIES, SUITE, outputs_stored, start_eval
from tests.ui.conftest import make_window
from workbench.core.runs import RunStatus


def kill_mid_run(path) -> None:
    process = start_eval(str(path))
    deadline = time.monotonic() + 240
    while outputs_stored() < 3:
        assert process.poll() is None, f"the run ended before the kill: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no outputs within 240 s"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)


def test_resume_an_interrupted_run_from_the_grid(qtbot, tmp_path, app_services, bundled_model):
    kill_mid_run(suite(tmp_path, SUITE))
    window = make_window(qtbot, app_services)
    compare = window.compare
    assert compare.run is not None and len(compare.cells) == len(COUNTRIES)  # every case shown
    qtbot.waitUntil(lambda: compare.resume_button.isVisible(), timeout=10_000)
    combo = compare.run_list.combo
    listed = combo.itemText(0)
    assert "interrupted (" in listed and f"of {len(COUNTRIES)} cells)" in listed
    assert compare.state.text().startswith("Run interrupted")
    filled = sum(1 for output in compare.outputs.values() if output is not None)
    assert 3 <= filled < len(COUNTRIES)

    with qtbot.waitSignal(compare.run_finished, timeout=240_000) as done:
        qtbot.mouseClick(compare.resume_button, Qt.MouseButton.LeftButton)
    assert done.args[0] is RunStatus.DONE
    assert not compare.resume_button.isVisible()
    assert all(cell.text.toPlainText() for cell in compare.cells.values())
    store = app_services.store
    outputs = store.runs.outputs(compare.run.id)
    assert len({(o.variant_id, o.case_id, o.repeat) for o in outputs}) == len(outputs) \
        == len(COUNTRIES)
    assert store.runs.get(compare.run.id).status is RunStatus.DONE
    qtbot.waitUntil(lambda: "done" in combo.itemText(0), timeout=10_000)
    window.close()


def test_stop_then_resume_finishes_the_run_in_place(qtbot, app_services):
    """■ Stop leaves cells cancelled; ↻ Resume generates just those, into the same run."""
    window = make_window(qtbot, app_services)
    composer, compare = window.composer, window.compare
    composer.system_edit.setPlainText("")
    composer.template_edit.setPlainText("Write a long story about {{ thing }}.")
    composer.set_cases([({"thing": t}, None) for t in ("a cat", "a ship", "the sea", "bread")])
    compare.variants.table.setRowCount(0)
    compare.variants.add_variant("story", temperature=0.0, seed=0, max_tokens=60)
    with qtbot.waitSignal(compare.run_finished, timeout=180_000) as stopped:
        qtbot.mouseClick(compare.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any(cell.text.toPlainText() for cell in compare.cells.values()),
                        timeout=120_000)
        qtbot.mouseClick(compare.stop_button, Qt.MouseButton.LeftButton)
    assert stopped.args[0] is RunStatus.CANCELLED
    qtbot.waitUntil(compare.resume_button.isVisible, timeout=10_000)  # asked off the GUI thread
    run_id = compare.run.id
    with qtbot.waitSignal(compare.run_finished, timeout=240_000) as done:
        qtbot.mouseClick(compare.resume_button, Qt.MouseButton.LeftButton)
    outputs = app_services.store.runs.outputs(run_id)
    assert done.args[0] is RunStatus.DONE, [(o.finish_reason, o.error) for o in outputs]
    assert compare.run.id == run_id
    outputs = app_services.store.runs.outputs(run_id)
    assert len(outputs) == 4 and not any(o.cancelled or o.error for o in outputs)
    assert all(cell.output is not None and not cell.output.cancelled
               for cell in compare.cells.values())
    window.close()
