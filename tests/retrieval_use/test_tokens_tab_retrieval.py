"""The composer's Tokens tab shows the prompt that is sent, retrieved chunks included, for the
case selected (pytest-qt, real widgets, the real bundled model, a real document set searched
with BM25): the same tokens, and so the same count, as the budget line under it, and as many
as the model reads when a variant retrieving alike runs the case."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from tests.retrieval_use.corpus import QUESTIONS
from tests.retrieval_use.test_retrieval_gui import choose, compose_questions, with_document_set
from tests.ui.conftest import app_services, make_window  # noqa: F401 - a fixture
from tests.ui.test_workbench import run_and_wait
from workbench.core.runs import RunStatus
from workbench.services.context import RETRIEVED


def click_tokens_tab(qtbot, composer) -> None:
    bar = composer.received.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton,
                     pos=bar.tabRect(composer.received.indexOf(composer.tokens)).center())
    assert composer.received.currentWidget() is composer.tokens


def click_case(qtbot, composer, row: int) -> None:
    table = composer.cases.table
    # The first column in view: with retrieval on, the `context` column is hidden.
    column = next(c for c in range(table.columnCount()) if not table.isColumnHidden(c))
    rect = table.visualRect(table.model().index(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert composer.cases.current_row() == row


def budget_line_total(composer) -> int:
    """The prompt token count the budget line under the preview says."""
    found = re.search(r"([\d,]+) prompt tokens? of", composer.context_bar.label.text())
    return int(found.group(1).replace(",", ""))


def drawn_text(pane) -> str:
    """The Tokens view's text as the prompt reads (line ends are drawn as ↵ and kept)."""
    return pane.text.toPlainText().replace("↵", "")


def tokens_tab_retrieving(qtbot, app_services, tmp_path):
    """The window with the handbook set and the questions composed, retrieving by BM25 from
    the handbook, its Tokens tab in view: the window, its composer and the tab's first pane."""
    window = make_window(qtbot, app_services)
    with_document_set(qtbot, window, tmp_path)
    compose_questions(window)
    composer = window.composer
    choose(qtbot, composer.retrieval.set_combo, "handbook")
    choose(qtbot, composer.retrieval.mode_combo, "BM25")
    click_tokens_tab(qtbot, composer)
    return window, composer, composer.tokens.panes[0]


def shows(composer, pane, *words: str) -> bool:
    """The pane shows the tokens the budget line counted, with each of ``words`` in them."""
    result = pane.result
    return (result is not None and composer.budget is not None
            and composer.budget.tokens is result and all(w in drawn_text(pane) for w in words))


def test_the_tokens_tab_shows_the_retrieved_chunks_of_the_selected_case(
        qtbot, app_services, tmp_path):
    _, composer, pane = tokens_tab_retrieving(qtbot, app_services, tmp_path)

    # The first case: its question and the handbook's chunk about night shifts.
    click_case(qtbot, composer, 0)
    qtbot.waitUntil(lambda: shows(composer, pane, "starts at 22:00", QUESTIONS[0][0]),
                    timeout=60_000)
    text = drawn_text(pane)
    assert "Context:\n[1] (Shifts) # Shifts" in text
    assert text == pane.result.received
    assert pane.result.counts[RETRIEVED] > 0
    retrieved = b"".join(t.piece for t in pane.result.tokens if t.part == RETRIEVED).decode()
    assert "The night shift starts at 22:00" in retrieved
    assert pane.result.total == budget_line_total(composer) == composer.budget.prompt
    assert f"<b>{pane.result.total:,}</b> tokens" in pane.header.text()
    assert f"retrieved {pane.result.counts[RETRIEVED]:,}" in pane.header.text()

    # Another case selected: its own chunks, and again the budget line's count.
    click_case(qtbot, composer, 1)
    qtbot.waitUntil(lambda: shows(composer, pane, "within 14 days", QUESTIONS[1][0]),
                    timeout=60_000)
    assert QUESTIONS[0][0] not in drawn_text(pane)
    assert pane.result.total == budget_line_total(composer)


def test_the_tokens_tab_counts_what_a_run_of_the_same_case_sends(qtbot, app_services, tmp_path):
    """A variant retrieving as the composer does: the model's own count of the prompt it read
    for the selected case is the Tokens tab's."""
    window, composer, pane = tokens_tab_retrieving(qtbot, app_services, tmp_path)
    click_case(qtbot, composer, 0)
    qtbot.waitUntil(lambda: shows(composer, pane, "starts at 22:00"), timeout=60_000)
    shown = pane.result.total
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("bm25", temperature=0.0, seed=0, max_tokens=4,
                      retrieval=composer.retrieval.settings())
    assert run_and_wait(qtbot, window) is RunStatus.DONE
    first = window.compare.cases[0].id
    cell = next(c for (_, case_id), c in window.compare.cells.items() if case_id == first)
    assert cell.output is not None and not cell.output.error
    assert cell.output.prompt_tokens == shown
