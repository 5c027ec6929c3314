"""Messages that tell the truth (issue 28, item 12), checked on the screen as a user sees it:
the preview with a model loaded, a template with no test case to fill it, a dense search on a
set that has no vectors yet, and scores at 0.00."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from tests.ui.test_cases_table import typing_cell
from tests.ui.test_grid_history import services_with_plugins  # noqa: F401 - a fixture
from tests.ui.test_workbench import run_and_wait, set_variants
from workbench.core.runs import RunStatus
from workbench.ui.compare.score_line import HIT_COLOUR, MISS_COLOUR, score_line
from workbench.ui.compose.preview import NO_MODEL
from workbench.ui.compose.table_editing import open_editor


def test_the_preview_never_says_a_model_is_missing_once_one_is_loaded(qtbot, main_window):
    composer = main_window.composer
    assert main_window.models.host is not None  # the status bar says "Loaded: …"
    composer.system_edit.setPlainText("")
    composer.template_edit.setPlainText("")
    composer.set_cases([])
    composer.measure_now()
    assert composer.preview.toPlainText() == ""
    assert composer.preview.placeholderText() != NO_MODEL
    assert "Write a system prompt or a user template" in composer.preview.placeholderText()

    # A template whose variable no case fills: the view says so, not "this test case".
    qtbot.keyClicks(composer.template_edit, "Review: {{ review }}")
    qtbot.waitUntil(lambda: "no test case yet" in composer.preview.placeholderText(),
                    timeout=20_000)
    reason = composer.preview.placeholderText()
    assert "'review'" in reason and "Add row" in reason
    assert composer.context_bar.label.text() == reason
    assert "this test case" not in composer.context_bar.warning.text()
    assert not composer.context_bar.warning.isVisible()

    # One click on Add row and a value typed: the rendered prompt replaces the reason.
    table = composer.cases
    qtbot.mouseClick(table.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(typing_cell(qtbot, table), "great tea")
    qtbot.keyClick(typing_cell(qtbot, table), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_editor(table.table) is None)
    qtbot.waitUntil(lambda: "Review: great tea" in composer.preview.toPlainText(),
                    timeout=20_000)


def test_a_prompt_that_cannot_render_empties_the_preview_and_says_why(qtbot, main_window):
    composer = main_window.composer
    composer.set_cases([({"review": "fine"}, None)])
    composer.template_edit.setPlainText("Review: {{ review }}")
    qtbot.waitUntil(lambda: "Review: fine" in composer.preview.toPlainText(), timeout=20_000)
    composer.template_edit.setPlainText("Review: {{ review ")  # a syntax error
    qtbot.waitUntil(lambda: composer.preview.toPlainText() == "", timeout=20_000)
    assert composer.preview.placeholderText().startswith("The prompt cannot be rendered: ")
    assert "syntax error" in composer.preview.placeholderText()


def test_a_score_of_zero_is_not_shown_in_green(qtbot, services_with_plugins):
    window = make_window(qtbot, services_with_plugins)
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": "Spain"}, "Zanzibar Town")])  # no answer matches it
    set_variants(window, ("greedy", 0.0, 6))
    assert run_and_wait(qtbot, window) is RunStatus.DONE
    cell = window.compare.grid.cellWidget(0, 0)
    qtbot.waitUntil(lambda: "exact match" in cell.scores.text(), timeout=10_000)
    line = cell.scores.text()
    assert f'<span style="color:{MISS_COLOUR}; font-weight:bold">0.00</span>' in line
    assert HIT_COLOUR not in line and "#1b5e20" not in cell.scores.styleSheet()
    window.close()


def test_score_figures_take_the_colour_of_their_value():
    line = score_line({"exact match": 1.0, "overlap": 0.5, "length": 12.0})
    assert f'color:{HIT_COLOUR}; font-weight:bold">1.00<' in line
    assert "overlap 0.50" in line and "length 12.00" in line  # neither a hit nor a miss
    assert score_line({}) == ""
