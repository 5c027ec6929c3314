"""A base model (Gemma 3 270M's pretrained file: no chat template, no "instruct"/"chat"/"it"
in its names) is named as one in the model bar and in the variants table, and one click
switches it to raw completion (issue 28, item 11). Real widgets, the real Gemma file."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from tests.ui.test_workbench import run_and_wait
from workbench.core.base_model import NOTICE
from workbench.core.chat_template import RAW_SOURCE, TemplateChoice
from workbench.core.paths import app_paths
from workbench.core.runs import RunStatus
from workbench.ui.compare.variants_table import ENGINE_COLUMN

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def gemma_in_library(gemma_model):
    """The Gemma file in the models folder: the library lists it by its file name."""
    link = app_paths().ensure().models / gemma_model.name
    os.symlink(gemma_model, link)
    return gemma_model.stem


def test_the_model_bar_names_a_base_model_and_switches_it_to_raw(qtbot, app_services,
                                                                  gemma_model):
    window = make_window(qtbot, app_services, model=str(gemma_model))
    notice = window.picker.base_notice
    assert notice.isVisible() and notice.raw_button.text() == "⚠ Base model — use raw completion"
    assert NOTICE in notice.raw_button.toolTip() and "no chat template" in \
        notice.raw_button.toolTip()
    composer = window.composer
    composer.system_edit.setPlainText("")
    composer.template_edit.setPlainText("The capital of France is")
    composer.set_cases([])
    qtbot.waitUntil(lambda: "<start_of_turn>user" in composer.preview.toPlainText(),
                    timeout=30_000)  # chat markup the base model was never taught

    table, rows_notice = window.compare.variants, window.compare.base_notice
    table.table.setRowCount(0)
    table.add_variant("chat", model=str(gemma_model))
    qtbot.waitUntil(rows_notice.isVisible, timeout=30_000)

    with qtbot.waitSignal(window.models.loaded, timeout=60_000) as loaded:
        qtbot.mouseClick(notice.raw_button, LEFT)
    assert loaded.args[0].chat_template_source == RAW_SOURCE
    assert not notice.isVisible()
    assert not rows_notice.isVisible()  # the file loads raw for every variant now
    assert "template: raw completion" in window.picker.state.text()
    assert app_services.models.template_choice(str(gemma_model)) == TemplateChoice(name="raw")
    qtbot.waitUntil(lambda: composer.preview.toPlainText() == "The capital of France is",
                    timeout=30_000)  # the text as written, for the model to continue


def test_a_chat_model_gets_no_notice(main_window):
    assert main_window.models.metadata.file_has_chat_template
    assert not main_window.picker.base_notice.isVisible()
    assert not main_window.compare.base_notice.isVisible()


def test_a_variant_with_a_base_model_is_offered_raw_completion_and_runs_raw(
        qtbot, app_services, gemma_in_library):
    window = make_window(qtbot, app_services)
    composer, table = window.composer, window.compare.variants
    composer.system_edit.setPlainText("")
    composer.template_edit.setPlainText("The capital of {{ country }} is")
    composer.set_cases([({"country": "France"}, None)])
    table.table.setRowCount(0)
    qtbot.mouseClick(table.add_button, LEFT)  # "Add variant", then its model typed in
    notice = window.compare.base_notice
    assert not notice.isVisible()  # the bundled instruct model first
    combo = table.table.cellWidget(0, 2)
    qtbot.waitUntil(lambda: combo.findText(gemma_in_library) >= 0, timeout=30_000)
    combo.lineEdit().selectAll()
    qtbot.keyClicks(combo.lineEdit(), gemma_in_library)
    qtbot.waitUntil(notice.isVisible, timeout=30_000)
    assert f"Variant 'Variant 1' uses {gemma_in_library}" in notice.label.text()
    assert "looks like a base model — use raw completion" in notice.label.text()

    qtbot.mouseClick(notice.raw_button, LEFT)
    assert table.table.cellWidget(0, ENGINE_COLUMN).text() == "--chat-template raw"
    assert not notice.isVisible()
    session = window.workspace.session.id
    qtbot.waitUntil(lambda: [v.engine_flags for v in
                             app_services.store.session_variants.get(session) or []]
                    == ["--chat-template raw"], timeout=10_000)  # kept with the session

    table.table.cellWidget(0, 7).setValue(6)  # max tokens
    assert run_and_wait(qtbot, window) is RunStatus.DONE
    variant = window.compare.run.variants[0]
    assert variant.engine_settings["template_name"] == "raw"
    output = next(iter(window.compare.cells.values())).output
    assert output is not None and not output.error
    assert output.engine_settings["chat_template_source"] == RAW_SOURCE
    assert output.prompt_tokens == len(app_services.models.load_named(
        str(app_services.models.resolve(gemma_in_library)), template_name="raw")
        .tokenize("The capital of France is"))  # BOS + the text, no chat markup
