"""The composer's Tokens view, in the real window with the real models (pytest-qt)."""

from __future__ import annotations

import os
import re
import threading

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from tests.ui.conftest import event_loop_gaps
from tests.ui.test_workbench import compose
from workbench.core.paths import app_paths
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.context import EXAMPLES, INPUT, PARTS, SYSTEM, TEMPLATE, measure
from workbench.ui.compose import composer as composer_module
from workbench.ui.compose.prompt_tokens import NO_SECOND


def open_tokens(qtbot, window):
    """Click the Tokens tab and wait for the first tokenization."""
    composer = window.composer
    bar = composer.received.tabBar()
    with qtbot.waitSignal(composer.tokens.shown, timeout=30_000,
                          check_params_cb=lambda side, _r: side == 0) as first:
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    return first.args[1]


def record(panel):
    answers: list[tuple[int, object]] = []
    panel.shown.connect(lambda side, result: answers.append((side, result)))
    return answers


def test_the_tokens_view_shows_each_part_and_the_counts(main_window, qtbot):
    compose(main_window)
    result = open_tokens(qtbot, main_window)
    pane = main_window.composer.tokens.panes[0]
    assert pane.result is result
    counts = result.counts
    assert all(counts[part] > 0 for part in (SYSTEM, EXAMPLES, INPUT, TEMPLATE))
    assert sum(counts.values()) == result.total
    header = pane.header.text()
    assert f"<b>{result.total}</b> tokens" in header
    assert f"system {counts[SYSTEM]}" in header and f"input {counts[INPUT]}" in header
    # Each token drawn once, in order: the view reads as the prompt with markers for
    # line breaks.
    drawn = pane.text.toPlainText().replace("↵", "")
    assert drawn == result.received
    assert "<|im_start|>" in drawn and any(t.special for t in result.tokens)


def shown_counts(label_html: str) -> dict[str, int]:
    """The parts' counts as a breakdown shows them ("■ system 17 · ■ examples 4 …")."""
    text = re.sub(r"<[^>]+>", "", label_html)
    return {part: int(number.replace(",", "")) for part, number in
            re.findall(rf"\b({'|'.join(PARTS)}) ([\d,]+)", text)}


def test_the_tokens_header_and_the_budget_bar_show_one_breakdown(main_window, qtbot):
    compose(main_window)
    result = open_tokens(qtbot, main_window)
    composer = main_window.composer
    qtbot.waitUntil(lambda: composer.budget is not None
                    and composer.budget.tokens is result, timeout=30_000)
    bar, header = composer.context_bar.label.text(), composer.tokens.panes[0].header.text()
    total = int(re.search(r"([\d,]+) prompt tokens", bar).group(1).replace(",", ""))
    assert f"<b>{total:,}</b> tokens" in header
    counts = shown_counts(header)
    assert counts == shown_counts(bar) == {p: n for p, n in result.counts.items() if n}
    assert sum(counts.values()) == total == result.total
    # One explanation of the parts, on both.
    tip = composer.context_bar.label.toolTip()
    assert composer.tokens.panes[0].header.toolTip() in tip
    assert all(f"{part}: " in tip for part in PARTS)


def test_typing_updates_the_view_after_the_pause_without_blocking(main_window, qtbot,
                                                                  monkeypatch):
    compose(main_window, cases=("Spain",))
    composer = main_window.composer
    before = open_tokens(qtbot, main_window)
    answers = record(composer.tokens)
    threads = []

    def watched(*args):  # the real measuring, noting which thread runs it
        threads.append(threading.current_thread())
        return measure(*args)

    monkeypatch.setattr(composer_module, "measure", watched)
    composer.template_edit.moveCursor(composer.template_edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(composer.template_edit, " please")
    # Nothing is tokenized while the keys come: the view waits for the pause.
    assert composer.tokens.panes[0].result is before and answers == []
    with event_loop_gaps() as gaps:
        qtbot.waitUntil(lambda: any(side == 0 for side, _ in answers), timeout=30_000)
    qtbot.wait(TOKENS_SETTLE_MS)
    side, result = answers[0]
    assert len(answers) == 1  # one tokenization for the whole burst of keys
    assert result.received.endswith("Spain please<|im_end|>\n<|im_start|>assistant\n")
    assert result.total > before.total
    assert composer.tokens.panes[0].result is result
    assert threads and threading.main_thread() not in threads
    assert max(gaps, default=0) < 200, f"the event loop stalled for {max(gaps)} ms"


TOKENS_SETTLE_MS = 400  # longer than the pause: a second answer would have come by then


def test_a_second_models_answer_for_an_older_text_is_dropped(main_window, qtbot):
    compose(main_window, cases=("Spain",))
    composer, panel = main_window.composer, main_window.composer.tokens
    open_tokens(qtbot, main_window)
    qtbot.waitUntil(lambda: panel.second_combo.findText(BUNDLED_NAME) > 0, timeout=30_000)
    with qtbot.waitSignal(panel.shown, timeout=30_000,
                          check_params_cb=lambda side, _r: side == 1):
        panel.second_combo.setCurrentText(BUNDLED_NAME)
    answers = record(panel)
    composer.template_edit.setPlainText("Old: {{ country }}")
    panel.tokenize_second()  # asked, and still running when the text changes again
    composer.template_edit.setPlainText("New: {{ country }}")
    panel.tokenize_second()
    qtbot.waitUntil(lambda: any(side == 1 for side, _ in answers), timeout=30_000)
    qtbot.wait(TOKENS_SETTLE_MS)
    seconds = [result.received for side, result in answers if side == 1]
    assert all("New: Spain" in received and "Old:" not in received for received in seconds)
    assert "Old:" not in panel.panes[1].text.toPlainText()


def test_with_no_prompt_left_the_view_says_what_the_text_tab_says(main_window, qtbot):
    compose(main_window, cases=("Spain",))
    composer = main_window.composer
    open_tokens(qtbot, main_window)
    composer.system_edit.clear()
    composer.examples.set_examples([])
    composer.template_edit.clear()
    pane = composer.tokens.panes[0]
    qtbot.waitUntil(lambda: pane.result is None, timeout=30_000)
    reason = composer.preview.placeholderText()
    assert reason.startswith("Write") and pane.header.text() == reason
    assert pane.text.toPlainText() == ""


def test_hovering_a_token_shows_its_id(main_window, qtbot):
    compose(main_window)
    result = open_tokens(qtbot, main_window)
    text = main_window.composer.tokens.panes[0].text
    index = next(i for i, t in enumerate(result.tokens) if t.text == "Paris")
    cursor = text.textCursor()
    cursor.setPosition(text._starts[index] + 2)
    point = text.cursorRect(cursor).center()
    event = QHelpEvent(QEvent.Type.ToolTip, point, text.viewport().mapToGlobal(point))
    QApplication.sendEvent(text.viewport(), event)
    tip = QToolTip.text()
    assert f"id {result.tokens[index].token_id}" in tip and "'Paris'" in tip
    assert "examples" in tip


def test_a_second_model_beside_shows_its_own_tokens_and_counts(main_window, qtbot,
                                                               gemma_model):
    # The Gemma file in the models folder: the library lists it by its file name.
    link = app_paths().ensure().models / gemma_model.name
    os.symlink(gemma_model, link)
    compose(main_window, cases=("Spain",))
    main_window.composer.template_edit.setPlainText("Capital of {{ country }}? 東京 😀")
    panel = main_window.composer.tokens
    smol = open_tokens(qtbot, main_window)
    qtbot.waitUntil(lambda: panel.second_combo.findText(link.stem) > 0, timeout=30_000)
    assert panel.second_combo.currentText() == NO_SECOND and not panel.panes[1].isVisible()
    with qtbot.waitSignal(panel.shown, timeout=60_000,
                          check_params_cb=lambda side, _r: side == 1) as second:
        panel.second_combo.setFocus()
        qtbot.keyClicks(panel.second_combo, link.stem[:5])  # keyboard search picks it
    gemma = second.args[1]
    assert panel.panes[1].isVisible() and panel.second_combo.currentText() == link.stem
    assert gemma.model != smol.model
    assert gemma.total != smol.total
    assert str(gemma.total) in panel.panes[1].header.text()
    assert str(smol.total) in panel.panes[0].header.text()
    inputs = [b"".join(t.piece for t in r.tokens if t.part == INPUT) for r in (smol, gemma)]
    assert inputs[0] == inputs[1] == "Capital of Spain? 東京 😀".encode()
    # Back to one model: the tokenizer-only host is unloaded.
    loaded = len(main_window.services.models.loaded())
    panel.second_combo.setCurrentText(NO_SECOND)
    assert not panel.panes[1].isVisible()
    qtbot.waitUntil(lambda: len(main_window.services.models.loaded()) == loaded - 1,
                    timeout=30_000)


def test_the_loaded_model_beside_itself_is_not_loaded_again(main_window, qtbot):
    compose(main_window, cases=("Spain",))
    panel = main_window.composer.tokens
    first = open_tokens(qtbot, main_window)
    qtbot.waitUntil(lambda: panel.second_combo.findText(BUNDLED_NAME) > 0, timeout=30_000)
    loaded = main_window.services.models.loaded()
    with qtbot.waitSignal(panel.shown, timeout=30_000,
                          check_params_cb=lambda side, _r: side == 1) as second:
        panel.second_combo.setCurrentText(BUNDLED_NAME)
    assert second.args[1].data == first.data and panel.second_host is main_window.models.host
    panel.second_combo.setCurrentText(NO_SECOND)
    qtbot.wait(TOKENS_SETTLE_MS)  # an unload would have begun by now
    assert main_window.services.models.loaded() == loaded and main_window.models.host.alive


@pytest.fixture(autouse=True)
def no_leftover_tooltip():
    yield
    QToolTip.hideText()
