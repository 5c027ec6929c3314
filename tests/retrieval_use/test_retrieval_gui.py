"""The window with retrieval (pytest-qt, real widgets, the real bundled model, BM25 so no
embedding model is needed): the composer's Retrieval section fills the preview and the budget
bar's retrieved part; the variants table's retrieval column is edited with its editor and one
grid compares none with BM25."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialogButtonBox

from tests.retrieval_use.corpus import QUESTIONS, SYSTEM, TEMPLATE, make_set
from tests.ui.conftest import app_services, make_window  # noqa: F401 - a fixture
from tests.ui.test_workbench import run_and_wait
from workbench.core.retrieval import RetrievalSettings
from workbench.core.runs import RunStatus
from workbench.ui.compare.variants_table import RETRIEVAL_COLUMN


def choose(qtbot, combo: QComboBox, text: str) -> None:
    """Choose an item by typing its name into the focused combo, as a keyboard user does
    (the offscreen platform places popup lists unreliably, so their clicks miss)."""
    combo.setFocus()
    qtbot.keyClicks(combo, text)
    qtbot.waitUntil(lambda: combo.currentText() == text, timeout=5_000)


def click_tab(qtbot, window, widget) -> None:
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton,
                     pos=bar.tabRect(window.tabs.indexOf(widget)).center())
    assert window.tabs.currentWidget() is widget


def with_document_set(qtbot, window, tmp_path) -> None:
    """A set of the open session, made with the app's retrieval service (as the Documents tab
    does); back on the composer's tab, the Retrieval section lists it."""
    click_tab(qtbot, window, window.documents_panel)
    make_set(window.services.retrieval, tmp_path / "docs", session_id=window.workspace.session.id)
    click_tab(qtbot, window, window.tabs.widget(0))
    section = window.composer.retrieval
    qtbot.waitUntil(lambda: section.set_combo.findText("handbook") >= 0, timeout=10_000)


def compose_questions(window) -> None:
    composer = window.composer
    composer.system_edit.setPlainText(SYSTEM)
    composer.template_edit.setPlainText(TEMPLATE)
    composer.set_cases([({"question": q, "context": ""}, None) for q, _ in QUESTIONS])


def test_composer_retrieval_fills_preview_and_budget_and_names_what_does_not_fit(
        qtbot, app_services, tmp_path):
    window = make_window(qtbot, app_services)
    with_document_set(qtbot, window, tmp_path)
    compose_questions(window)
    composer, section = window.composer, window.composer.retrieval
    choose(qtbot, section.set_combo, "handbook")
    choose(qtbot, section.mode_combo, "BM25")
    assert section.settings() == RetrievalSettings("handbook", "bm25", 4)

    def shows_chunks() -> bool:
        budget = composer.budget
        return (budget is not None and budget.retrieved > 0
                and "[1] (Shifts) # Shifts" in composer.preview.toPlainText())

    qtbot.waitUntil(shows_chunks, timeout=30_000)
    preview = composer.preview.toPlainText()
    assert "Context:\n[1] (Shifts) # Shifts" in preview and "starts at 22:00" in preview
    assert f"retrieved {composer.budget.retrieved:,}" in composer.context_bar.label.text()
    assert "from handbook (bm25)" in section.status.text()
    assert composer.budget.input > 0  # the question is still the input's

    # Leave room for only a few prompt tokens: the chunks past it are named, and kept.
    budget = composer.budget
    composer.answer_tokens.setValue(budget.n_ctx - (budget.prompt - budget.retrieved) - 5)
    qtbot.waitUntil(lambda: "does not fit" in composer.context_bar.warning.text(),
                    timeout=30_000)
    warning = composer.context_bar.warning.text()
    assert "Chunk 1 of handbook.md (" in warning and "tokens used" in warning
    assert "night shift starts" in composer.preview.toPlainText()  # kept, not dropped

    choose(qtbot, section.mode_combo, "none")
    qtbot.waitUntil(lambda: composer.budget is not None and composer.budget.retrieved == 0
                    and "[1] (" not in composer.preview.toPlainText(), timeout=30_000)
    assert composer.to_draft()["retrieval"]["mode"] == "none"


def test_variants_table_retrieval_column_and_one_grid_of_none_and_bm25(
        qtbot, app_services, tmp_path):
    window = make_window(qtbot, app_services)
    with_document_set(qtbot, window, tmp_path)
    compose_questions(window)
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("no retrieval", temperature=0.0, seed=0, max_tokens=12)
    table.add_variant("bm25", temperature=0.0, seed=0, max_tokens=12)
    button = table.table.cellWidget(1, RETRIEVAL_COLUMN)
    assert button.text() == "none"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = button.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    choose(qtbot, dialog.set_combo, "handbook")
    choose(qtbot, dialog.mode_combo, "BM25")
    dialog.k_spin.setValue(2)
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert button.text() == "bm25 k=2 · handbook"
    rows = table.rows()
    assert rows[1].retrieval == RetrievalSettings("handbook", "bm25", 2)
    session_id = window.workspace.session.id
    qtbot.waitUntil(lambda: app_services.store.session_variants.get(session_id) == rows,
                    timeout=10_000)  # saved with the session's variants

    assert run_and_wait(qtbot, window) is RunStatus.DONE
    run = window.compare.run
    assert [v.retrieval.mode for v in run.variants] == ["none", "bm25"]
    assert len(window.compare.cells) == 4
    plain, retrieved = run.variants
    for (variant_id, _), cell in window.compare.cells.items():
        assert cell.output is not None and not cell.output.error
        recorded = app_services.store.retrieval.for_output(cell.output.id)
        assert (recorded is not None) == (variant_id == retrieved.id)
    qtbot.waitUntil(lambda: all(
        cell.grounding.isVisibleTo(cell) == (key[0] == retrieved.id)
        for key, cell in window.compare.cells.items()), timeout=10_000)
    cell = next(c for k, c in window.compare.cells.items() if k[0] == retrieved.id)
    assert cell.grounding.text().startswith("Grounding: ")
    # ⋯ ▸ Prompt sent…: the messages, the model's rendering and the chunks, as recorded.
    chunks = app_services.store.retrieval.for_output(cell.output.id)[1]
    cell.prompt_action.trigger()
    compare = window.compare
    qtbot.waitUntil(lambda: getattr(compare, "prompt_dialog", None) is not None
                    and compare.prompt_dialog.isVisible(), timeout=30_000)
    dialog = compare.prompt_dialog
    assert "from 'handbook' (bm25, k=2)" in dialog.heading.text()
    assert f"{cell.output.prompt_tokens} prompt tokens" in dialog.heading.text()
    table = dialog.chunk_table
    assert table.rowCount() == len(chunks) >= 1
    assert [table.item(r, 1).text() for r in range(table.rowCount())] == \
        [f"{c.title} · {c.source.rsplit('/', 1)[-1]}" for c in chunks]
    rendered = dialog.rendered.toPlainText()
    assert "<|im_start|>user" in rendered and chunks[0].text.strip() in rendered
    assert chunks[0].text.strip() in dialog.messages.toPlainText()
    table.selectRow(0)
    assert dialog.chunk_text.toPlainText().endswith(chunks[0].text)
    dialog.close()
    plain_cell = next(c for k, c in window.compare.cells.items() if k[0] == plain.id)
    plain_cell.prompt_action.trigger()
    qtbot.waitUntil(lambda: compare.prompt_dialog is not dialog
                    and compare.prompt_dialog.isVisible(), timeout=30_000)
    assert compare.prompt_dialog.heading.text().endswith("no retrieved context")
    assert not compare.prompt_dialog.tabs.isTabEnabled(2)
    compare.prompt_dialog.close()
