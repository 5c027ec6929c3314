"""The model bar, as a user meets it (pytest-qt, real widgets, real models): picking a model
loads it and new variants start with it; a model is called by one name in the bar, the
variants table and the status bar; a long name never widens the window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from workbench.core.paths import app_paths
from workbench.ui.compare.variants_table import RETRIEVAL_COLUMN

LEFT = Qt.MouseButton.LeftButton
# A name as long as the Hub's (fine-tune, method, quantization), for the real Gemma 3 270M file.
LONG_NAME = "gemma-3-270m-it-abliterated-uncensored-experimental-imatrix-q4_k_m"
SCREEN_WIDTH = 1600  # the user's screen in the issue


def pick(qtbot, combo, text: str) -> None:
    """Choose an item by typing its start into the focused combo, as a keyboard user does
    (the offscreen platform places popup lists unreliably, so their clicks miss)."""
    combo.setFocus()
    qtbot.keyClicks(combo, text)


def with_long_named_model(gemma_model: Path) -> None:
    """Gemma 3 270M in the models folder under a long name (a link: the same file)."""
    folder = app_paths().ensure().models
    (folder / f"{LONG_NAME}.gguf").symlink_to(gemma_model)


def test_picking_a_long_named_model_loads_it_without_widening_the_window(
        qtbot, app_services, gemma_model):
    with_long_named_model(gemma_model)
    window = make_window(qtbot, app_services)
    window.resize(SCREEN_WIDTH, 1000)
    qtbot.waitUntil(lambda: window.width() == SCREEN_WIDTH, timeout=5_000)
    picker, table = window.picker, window.compare.variants
    assert picker.model_label.text() == "Default model:"
    assert "loads it" in picker.combo.toolTip() and "new variants" in picker.combo.toolTip()
    rows_before = [table.model_choice(row) for row in range(table.count())]

    with qtbot.waitSignal(window.models.loaded, timeout=120_000) as loaded:
        pick(qtbot, picker.combo, "gemma-3-270m-it")  # no Load button to press
    assert Path(loaded.args[0].path).resolve() == gemma_model.resolve()
    assert picker.combo.currentText() == LONG_NAME and LONG_NAME in picker.combo.toolTip()
    state = picker.state
    assert state.text().startswith(f"● {LONG_NAME} · ")
    qtbot.waitUntil(lambda: LONG_NAME in window.models_status.text(), timeout=5_000)

    # The window keeps its width; the long texts elide and say it all on hover.
    assert window.width() == SCREEN_WIDTH
    assert window.minimumSizeHint().width() <= SCREEN_WIDTH
    assert state.is_elided() and LONG_NAME in state.toolTip()
    assert "GGUF name: Gemma 3 270m" in state.toolTip()  # the file's own name: detail only
    assert "Gemma 3 270m" not in state.text()
    status = window.models_status
    assert status.is_elided() or status.width() >= status.sizeHint().width()
    assert LONG_NAME in status.toolTip()
    # The Retrieval column and the memory readout stay on screen.
    header = table.table.horizontalHeader()
    right = header.sectionViewportPosition(RETRIEVAL_COLUMN) + header.sectionSize(RETRIEVAL_COLUMN)
    assert right <= table.table.viewport().width()
    readout = window.memory_status
    qtbot.waitUntil(lambda: readout.text().startswith("Model memory"), timeout=5_000)
    corner = readout.mapTo(window, readout.rect().topRight())
    assert readout.isVisible() and corner.x() < window.width()

    # The rows that exist keep their model; a new row starts with the bar's.
    assert [table.model_choice(row) for row in range(table.count())] == rows_before
    qtbot.mouseClick(table.add_button, LEFT)
    new_row = table.count() - 1
    assert table.model_choice(new_row) == LONG_NAME
    model_box = table.table.cellWidget(new_row, 2)
    assert LONG_NAME in model_box.toolTip()
    view = model_box.view()  # the list shows the whole name, not "gemma-…q4_k_m"
    assert view.minimumWidth() >= view.fontMetrics().horizontalAdvance(LONG_NAME)
    window.close()


def test_one_model_has_one_name_in_the_bar_the_variants_and_the_status_bar(
        qtbot, app_services):
    window = make_window(qtbot, app_services)
    name = "smollm2-135m-instruct"  # the library's name for the bundled file
    gguf_name = window.models.metadata.name  # "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert gguf_name != name
    picker, table, status = window.picker, window.compare.variants, window.models_status
    assert picker.combo.currentText() == name
    assert picker.state.text().startswith(f"● {name} · ")
    assert gguf_name not in picker.state.text() and f"GGUF name: {gguf_name}" in \
        picker.state.toolTip()
    assert table.count() >= 1
    for row in range(table.count()):
        assert table.table.cellWidget(row, 2).currentText() == name
    # The Model column shows the name whole, not "smollm2-135m-".
    assert table.table.columnWidth(2) > table.fontMetrics().horizontalAdvance(name) + 20
    qtbot.waitUntil(lambda: status.text() == f"Loaded: {name}", timeout=5_000)

    # A second copy of the same file (another context size): still one model, one name.
    picker.n_ctx.setValue(2048)
    with qtbot.waitSignal(window.models.loaded, timeout=60_000):
        qtbot.mouseClick(picker.load_button, LEFT)
    copies = [h for h in app_services.models.loaded()
              if Path(h.settings.path).name == Path(window.models.metadata.path).name]
    assert len(copies) == 2
    window.update_status()
    assert status.text() == f"Loaded: {name}"
    assert picker.state.text().startswith(f"● {name} · ")
    library = window.library_panel
    qtbot.waitUntil(lambda: library.usage_label.text().startswith(f"Loaded {name}: "),
                    timeout=10_000)
    window.close()
