"""Engine and sampling settings typed as llama.cpp flags, in the model bar and the variants."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from tests.ui.test_workbench import compose, run_and_wait
from workbench.core.runs import RunStatus


def type_into(qtbot, edit, text):
    edit.clear()
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(edit, text)


def test_model_bar_flags_load_the_model_and_the_status_shows_the_engine(qtbot, app_services):
    window = make_window(qtbot, app_services)
    picker = window.picker
    assert "4 parallel" in picker.state.text()  # the CPU default
    type_into(qtbot, picker.engine, "-fa off -np 2 -ctk q8_0")
    with qtbot.waitSignal(window.models.loaded, timeout=60_000) as loaded:
        qtbot.mouseClick(picker.load_button, Qt.MouseButton.LeftButton)
    engine = loaded.args[0].engine
    assert engine["flash_attn"] == "off" and engine["n_parallel"] == 2
    assert engine["cache_type_k"] == "q8_0"
    assert "2 parallel" in picker.state.text() and "flash attn off" in picker.state.toolTip()
    if not loaded.args[0].offload_supported:  # why nothing is on the GPU, on hover
        assert "GPU offload: the installed llama.cpp is CPU only" in picker.state.toolTip()
    type_into(qtbot, picker.engine, "-fa sometimes")
    qtbot.keyClick(picker.engine, Qt.Key.Key_Return)
    assert "-fa 'sometimes' is not one of auto, on, off" in picker.state.text()
    window.close()


def test_variant_rows_take_sampling_and_engine_flags_into_the_outputs(qtbot, app_services):
    window = make_window(qtbot, app_services)
    compose(window, cases=("Spain",))
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("penalised", temperature=0.0, seed=0, max_tokens=8)
    table.add_variant("fa off", temperature=0.0, seed=0, max_tokens=8)
    type_into(qtbot, table.table.cellWidget(0, 8), "--repeat-penalty 1.3 --top-k 5")
    type_into(qtbot, table.table.cellWidget(1, 9), "-fa off")
    assert run_and_wait(qtbot, window) is RunStatus.DONE
    outputs = {o.variant_id: o for o in app_services.store.runs.outputs(window.compare.run.id)}
    first, second = window.compare.run.variants
    assert outputs[first.id].sampling.repeat_penalty == 1.3
    assert outputs[first.id].sampling.top_k == 5
    assert outputs[first.id].engine_settings["flash_attn"].startswith("auto")
    assert outputs[second.id].engine_settings["flash_attn"] == "off"
    # Each cell says what decided its tokens.
    tip = window.compare.cells[(first.id, window.compare.cases[0].id)].stats.toolTip()
    assert "Sampling: greedy · repeat 1.3 · seed 0" in tip and "flash attn auto→" in tip
    other = window.compare.cells[(second.id, window.compare.cases[0].id)].stats.toolTip()
    assert "flash attn off" in other
    # A bad flag is named in the banner and nothing runs.
    type_into(qtbot, table.table.cellWidget(0, 8), "--top-k lots")
    run_id = window.compare.run.id
    qtbot.mouseClick(window.compare.run_button, Qt.MouseButton.LeftButton)
    assert "penalised: Sampling settings: --top-k 'lots' is not a int value" in \
        window.compare.banner.label.text()
    assert window.compare.run.id == run_id
    window.close()
