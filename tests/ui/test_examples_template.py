"""Few-shot examples typed into the composer go through the user template, like the cases.

Everything here is typed and clicked as a user does; the preview and token budget come from
the real bundled model.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from workbench.core.prompts import FewShotExample, PromptVersion
from workbench.ui.compose.table_editing import open_editor


def headers(widget) -> list[str]:
    table = widget.table
    return [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())]


def type_template(qtbot, composer, *lines: str) -> None:
    qtbot.mouseClick(composer.template_edit.viewport(), Qt.MouseButton.LeftButton)
    for number, line in enumerate(lines):
        if number:
            qtbot.keyClick(composer.template_edit, Qt.Key.Key_Return)
        qtbot.keyClicks(composer.template_edit, line)


def type_row(qtbot, widget, *cells: str) -> None:
    """Click Add, then type each cell, Tab between them, Return to finish (no double-click)."""
    qtbot.mouseClick(widget.add_button, Qt.MouseButton.LeftButton)
    for number, text in enumerate(cells):
        if number:
            qtbot.keyClick(typing_cell(qtbot, widget), Qt.Key.Key_Tab)
        qtbot.keyClicks(typing_cell(qtbot, widget), text)
    qtbot.keyClick(typing_cell(qtbot, widget), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_editor(widget.table) is None)  # Return commits a moment later


def typing_cell(qtbot, widget):
    qtbot.waitUntil(lambda: open_editor(widget.table) is not None)
    return open_editor(widget.table)


def wait_for_preview(qtbot, composer, *parts: str) -> str:
    qtbot.waitUntil(lambda: all(p in composer.preview.toPlainText() for p in parts),
                    timeout=30_000)
    return composer.preview.toPlainText()


def test_typed_examples_render_through_the_template(qtbot, main_window):
    composer = main_window.composer
    type_template(qtbot, composer, "Review: {{ review }}", "Sentiment:")
    assert headers(composer.examples) == ["On", "review", "answer"]
    assert composer.examples.template_check.isChecked()
    type_row(qtbot, composer.examples, "Loved every minute", "positive")
    type_row(qtbot, composer.cases, "Dull and slow")
    text = wait_for_preview(qtbot, composer, "Review: Loved every minute\nSentiment:",
                            "Review: Dull and slow\nSentiment:")
    assert text.index("Loved every minute") < text.index("positive") < text.index("Dull")
    assert composer.examples.examples() == [
        FewShotExample.templated({"review": "Loved every minute"}, "positive")]
    qtbot.waitUntil(lambda: composer.budget is not None and composer.budget.examples > 0)


def test_an_example_missing_its_variable_is_named(qtbot, main_window):
    composer = main_window.composer
    type_template(qtbot, composer, "Review: {{ review }}", "Sentiment:")
    type_row(qtbot, composer.cases, "Dull")
    type_row(qtbot, composer.examples, "Great", "positive")
    type_row(qtbot, composer.examples, "", "negative")  # the review left empty
    warning = composer.context_bar.warning
    qtbot.waitUntil(lambda: warning.isVisible(), timeout=30_000)
    assert warning.text().startswith("Example 2: variable 'review' is empty")


def test_unticking_makes_examples_raw_text(qtbot, main_window):
    composer = main_window.composer
    type_template(qtbot, composer, "Review: {{ review }}", "Sentiment:")
    type_row(qtbot, composer.cases, "Dull")
    type_row(qtbot, composer.examples, "Great", "positive")
    check = composer.examples.template_check
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))
    assert not composer.examples.template_check.isChecked()
    assert headers(composer.examples) == ["On", "Input", "Output"]
    # The example now holds the user message it stood for, and can be edited as raw text.
    assert composer.examples.examples() == [
        FewShotExample("Review: Great\nSentiment:", "positive")]
    type_row(qtbot, composer.examples, "Just text", "negative")
    text = wait_for_preview(qtbot, composer, "Just text", "Review: Dull")
    assert "Review: Just text" not in text


def test_an_old_prompt_with_raw_examples_stays_raw(qtbot, main_window):
    composer = main_window.composer
    composer.set_version(PromptVersion("old", "", (FewShotExample("Loved it", "positive"),),
                                       "Review: {{ review }}\nSentiment:"))
    assert headers(composer.examples) == ["On", "Input", "Output"]
    assert not composer.examples.template_check.isChecked()
    type_row(qtbot, composer.cases, "Dull")
    text = wait_for_preview(qtbot, composer, "Loved it", "Review: Dull")
    assert "Review: Loved it" not in text
