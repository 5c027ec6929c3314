"""With retrieval on, the window says what retrieval does (issue 28, items 12 and 13): the
cases table leaves out the `context` column retrieval fills, the grid's row labels leave out
the empty value, and a dense or hybrid choice on a set without vectors names the Documents
tab's Embed with button, not a command line, until the set is embedded."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.retrieval_use import test_retrieval_gui
from tests.retrieval_use.test_retrieval_gui import click_tab, compose_questions, with_document_set
from tests.ui.conftest import app_services, make_window  # noqa: F401 - a fixture
from tests.ui.test_workbench import run_and_wait
from workbench.core.runs import RunStatus
from workbench.ui.compose.cases_table import RETRIEVED_HEADER


def choose(qtbot, combo, text: str) -> None:
    """Typed into the combo after the keyboard search has forgotten the last word typed
    (else "BM25" then "none" reads as one search, "BM25none")."""
    qtbot.wait(QApplication.keyboardInputInterval() + 100)
    test_retrieval_gui.choose(qtbot, combo, text)


def header_texts(cases) -> list[str]:
    table = cases.table
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())
            if not table.isColumnHidden(c)]


def test_retrieval_hides_the_context_column_and_the_empty_value_from_row_labels(
        qtbot, app_services, tmp_path):
    window = make_window(qtbot, app_services)
    with_document_set(qtbot, window, tmp_path)
    compose_questions(window)  # each case leaves `context` empty
    composer, section = window.composer, window.composer.retrieval
    assert header_texts(composer.cases) == ["context", "question", "expected", "checks"]

    choose(qtbot, section.set_combo, "handbook")
    choose(qtbot, section.mode_combo, "BM25")
    assert header_texts(composer.cases) == ["question", "expected", "checks"]
    qtbot.waitUntil(lambda: "from handbook (bm25)" in section.status.text(), timeout=30_000)

    # A case that brings its own context keeps the column in view, marked.
    composer.set_cases([({"question": "When does the night shift start?", "context": ""}, None),
                        ({"question": "Why?", "context": "Because."}, None)])
    assert header_texts(composer.cases)[0] == RETRIEVED_HEADER
    choose(qtbot, section.mode_combo, "none")
    assert header_texts(composer.cases)[0] == "context"
    compose_questions(window)
    choose(qtbot, section.mode_combo, "BM25")
    assert "context" not in " ".join(header_texts(composer.cases))

    # The grid's rows: the question, not "context=, question=…".
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("greedy", temperature=0.0, seed=0, max_tokens=4)
    assert run_and_wait(qtbot, window) is RunStatus.DONE
    grid = window.compare.grid
    label = grid.verticalHeaderItem(0).text()
    assert label.startswith("1. question=When does") and "context=" not in label


def test_hybrid_on_a_set_without_vectors_names_the_embed_button_until_it_is_embedded(
        qtbot, app_services, tmp_path):
    window = make_window(qtbot, app_services)
    with_document_set(qtbot, window, tmp_path)
    compose_questions(window)
    section = window.composer.retrieval
    choose(qtbot, section.set_combo, "handbook")
    choose(qtbot, section.mode_combo, "hybrid")
    qtbot.waitUntil(lambda: "Embed with" in section.status.text(), timeout=30_000)
    message = section.status.text()
    assert "Documents tab" in message and "workbench docs" not in message

    # Embedded in the Documents tab; back on the composer, the line is retrieval's again.
    panel = window.documents_panel
    click_tab(qtbot, window, panel)
    qtbot.waitUntil(lambda: panel.current is not None and panel.current.name == "handbook",
                    timeout=20_000)
    combo = panel.embedding.model_combo
    qtbot.waitUntil(lambda: combo.currentText() == "smollm2-135m-instruct", timeout=20_000)
    with qtbot.waitSignal(panel.strip.ended, timeout=120_000) as ended:
        qtbot.mouseClick(panel.embedding.embed_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "done", ended.args[0].error
    click_tab(qtbot, window, window.tabs.widget(0))
    qtbot.waitUntil(lambda: "from handbook (hybrid)" in section.status.text(), timeout=60_000)
    assert "Embed with" not in section.status.text()
    assert section.settings().mode == "hybrid"  # nothing was chosen again
