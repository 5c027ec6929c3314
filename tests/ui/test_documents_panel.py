"""The Documents tab offscreen, with real parts: a real store in tmp_path, the real
RetrievalService, the bundled model for tokens-chunking. Only the file choosers are answered
(the names in documents_panel); every other step is a click or typing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.retrieval.service import RetrievalService
from workbench.services.sessions import open_store
from workbench.services.workspace import WorkspaceService
from workbench.ui.job_bridges import background_calls_in_flight
from workbench.ui.retrieval import documents_panel
from workbench.ui.retrieval.chunk_view import CHUNK_COLOURS, OVERLAP_COLOUR
from workbench.ui.retrieval.documents_panel import DocumentsPanel

JOB_TIMEOUT_MS = 90_000

HANDBOOK = """# Tea handbook

## Brewing green tea

Green tea wants water at about 80 degrees Celsius. Steep it for two minutes; longer makes it
bitter. A second infusion of the same leaves is often better than the first.

## Storing tea

Keep tea in an airtight tin away from light, heat and strong smells. Green tea keeps for six
months, black tea for two years.
"""

BIKES = """Bicycle care

Clean and oil the chain every 300 kilometres. A dry chain squeaks and wears the cassette.
Check the tyre pressure weekly: the sidewall prints the range in bar and psi.
Replace brake pads when the grooves are gone; a worn pad scores the rim.
"""


@pytest.fixture
def parts():
    store = open_store()
    models = ModelService(store=store)
    service = RetrievalService(store, models)
    session = WorkspaceService(store).create_session("Docs").session.id
    yield service, models, session
    models.close()
    store.close()


@pytest.fixture
def panel(qtbot, parts):
    service, models, session = parts
    widget = DocumentsPanel(service, models, lambda: session)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    yield widget
    if widget.strip.running:
        widget.strip.cancel()
        qtbot.waitUntil(lambda: not widget.strip.running, timeout=JOB_TIMEOUT_MS)
    # Let background calls report before the widget (their parent) goes away.
    qtbot.waitUntil(lambda: background_calls_in_flight() == 0, timeout=20_000)


def new_set(qtbot, panel, name: str, size: int = 64, overlap: int = 8, *,
            this_session: bool = True) -> None:
    qtbot.mouseClick(panel.new_set_button, Qt.MouseButton.LeftButton)
    dialog = panel.set_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.session_only.isChecked()  # a new set is for every session by default
    qtbot.keyClicks(dialog.name_edit, name)
    if this_session:
        qtbot.mouseClick(dialog.session_only, Qt.MouseButton.LeftButton)
        assert dialog.session_only.isChecked()
    for spin, value in ((dialog.size, size), (dialog.overlap, overlap)):
        spin.selectAll()
        qtbot.keyClicks(spin, str(value))
    assert dialog.chunking().strategy == "tokens"
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.current is not None and panel.current.name == name,
                    timeout=20_000)


def add_files(qtbot, panel, monkeypatch, paths) -> object:
    monkeypatch.setattr(documents_panel, "ask_open_paths",
                        lambda *_args, **_kw: [str(p) for p in paths])
    with qtbot.waitSignal(panel.strip.ended, timeout=JOB_TIMEOUT_MS) as ended:
        qtbot.mouseClick(panel.add_files_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: background_calls_in_flight() == 0, timeout=20_000)
    return ended.args[0]


def write_corpus(folder):
    folder.mkdir()
    (folder / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    (folder / "bikes.txt").write_text(BIKES, encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf\n")
    return [folder / n for n in ("handbook.md", "bikes.txt", "empty.txt", "broken.pdf")]


def click_row(qtbot, table, row: int) -> None:
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def row_titled(panel, title: str) -> int:
    return next(i for i, d in enumerate(panel.documents) if d.title == title)


def test_new_set_add_files_then_a_document_shows_its_chunks(qtbot, panel, monkeypatch,
                                                            tmp_path):
    new_set(qtbot, panel, "household")
    assert panel.chunking_label.text() == "Chunking: 64 tokens, 8 overlap"
    state = add_files(qtbot, panel, monkeypatch, write_corpus(tmp_path / "corpus"))

    assert state.status == "done", state.error
    assert panel.table.rowCount() == 2
    assert sorted(d.path for d in panel.documents) == sorted(
        str(tmp_path / "corpus" / n) for n in ("bikes.txt", "handbook.md"))
    report = panel.job_report
    assert "2 added" in report.summary.text()
    # What was skipped stays listed, each file with its reason.
    skipped = [report.skipped.item(i).text() for i in range(report.skipped.count())]
    assert report.skipped.isVisible() and len(skipped) == 2
    assert {line.split(":")[0] for line in skipped} == {"empty.txt", "broken.pdf"}
    assert all(len(line.split(":", 1)[1].strip()) > 3 for line in skipped)

    row = row_titled(panel, next(d.title for d in panel.documents if d.path.endswith(".md")))
    document = panel.documents[row]
    click_row(qtbot, panel.table, row)
    qtbot.waitUntil(lambda: bool(panel.chunk_view.chunks), timeout=20_000)
    view = panel.chunk_view
    assert len(view.chunks) == document.chunks > 1
    assert "Green tea wants water" in view.toPlainText()
    html = view.toHtml().lower()
    assert CHUNK_COLOURS[0] in html and CHUNK_COLOURS[1] in html
    assert OVERLAP_COLOUR in html  # 8 tokens of overlap between neighbours
    first = view.chunks[0]
    assert view.tooltip_at(view.cursorRect(view.textCursor()).center()).startswith(
        f"Chunk 1 of {len(view.chunks)} · {first.tokens} tokens")

    # Change chunking… to markdown headings: a job, then the open document is cut anew.
    qtbot.mouseClick(panel.change_chunking_button, Qt.MouseButton.LeftButton)
    dialog = panel.set_dialog
    assert dialog is not None and not dialog.name_edit.isVisible()
    dialog.strategy.setCurrentIndex(dialog.strategy.findData("headings"))
    dialog.size.selectAll()
    qtbot.keyClicks(dialog.size, "200")
    with qtbot.waitSignal(panel.strip.ended, timeout=JOB_TIMEOUT_MS) as ended:
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "done", ended.args[0].error
    qtbot.waitUntil(lambda: panel.chunking_label.text() == "Chunking: markdown headings"
                    and len(view.chunks) == 3, timeout=20_000)
    assert [c.text.split("\n")[0] for c in view.chunks] == [
        "# Tea handbook", "## Brewing green tea", "## Storing tea"]


def test_a_damaged_pdf_is_listed_as_added_with_what_pypdf_said(qtbot, panel, monkeypatch,
                                                                 tmp_path):
    from tests.retrieval.test_files import damaged_pdf

    new_set(qtbot, panel, "papers")
    (tmp_path / "shifted.pdf").write_bytes(damaged_pdf("The tram Owl runs at night."))
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    state = add_files(qtbot, panel, monkeypatch, [tmp_path / "shifted.pdf",
                                                  tmp_path / "empty.txt"])
    assert state.status == "done", state.error
    report = panel.job_report
    assert "1 added" in report.summary.text() and "1 with notices" in report.summary.text()
    lines = [report.skipped.item(i).text() for i in range(report.skipped.count())]
    assert lines == ["empty.txt: the file is empty",
                     "shifted.pdf (added): pypdf: incorrect startxref pointer(3); parsing for "
                     "Object Streams"]
    assert report.skipped_label.text() == "Skipped files and notices:"


def test_bm25_search_lists_hits_and_a_hit_opens_its_chunk(qtbot, panel, monkeypatch,
                                                          tmp_path):
    new_set(qtbot, panel, "household")
    add_files(qtbot, panel, monkeypatch, write_corpus(tmp_path / "corpus"))
    search = panel.search
    search.mode.setCurrentIndex(search.mode.findData("bm25"))
    qtbot.keyClicks(search.query, "chain cassette")
    qtbot.keyClick(search.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: search.results.rowCount() > 0, timeout=20_000)
    top = search.hits[0]
    assert top.rank == 1 and top.source.endswith("bikes.txt") and "chain" in top.text
    assert search.results.item(0, 3).text().startswith(" ".join(top.text.split())[:40])

    click_row(qtbot, search.results, 0)
    qtbot.waitUntil(lambda: panel.chunk_view.marked == top.chunk_id
                    and bool(panel.chunk_view.chunks), timeout=20_000)
    assert panel.selected_document().id == top.document_id
    assert "Clean and oil the chain" in panel.chunk_view.toPlainText()

    # Dense search on a set that was never embedded: a message in the panel, no crash.
    search.mode.setCurrentIndex(search.mode.findData("dense"))
    qtbot.mouseClick(search.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "embed" in search.status.text().lower(), timeout=20_000)
    assert panel.isVisible()


def test_cancel_during_an_add_of_many_files_keeps_what_was_done(qtbot, panel, monkeypatch,
                                                                tmp_path):
    new_set(qtbot, panel, "many")
    folder = tmp_path / "many"
    folder.mkdir()
    count = 400
    for i in range(count):
        (folder / f"note-{i:03d}.md").write_text(
            f"# Note {i}\n\nThis note number {i} talks about topic {i % 17}.\n", encoding="utf-8")
    monkeypatch.setattr(documents_panel, "ask_folder", lambda *_args: str(folder))
    qtbot.mouseClick(panel.add_folder_button, Qt.MouseButton.LeftButton)
    assert panel.strip.isVisible() and not panel.add_files_button.isEnabled()
    qtbot.waitUntil(lambda: panel.strip.bar.maximum() == 1000 and panel.strip.bar.value() > 0,
                    timeout=JOB_TIMEOUT_MS)
    with qtbot.waitSignal(panel.strip.ended, timeout=JOB_TIMEOUT_MS) as ended:
        qtbot.mouseClick(panel.strip.cancel_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "cancelled"
    assert "stopped" in panel.job_report.summary.text()
    qtbot.waitUntil(lambda: background_calls_in_flight() == 0 and panel.table.rowCount() > 0,
                    timeout=20_000)
    assert 0 < panel.table.rowCount() < count
    assert panel.add_files_button.isEnabled()


@pytest.fixture
def broken_model():
    """A .gguf file in the models folder that is no model (written before the panel lists)."""
    broken = app_paths().ensure().models / "broken-embedder.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 60)
    return broken


def test_embed_with_a_model_then_dense_search(qtbot, broken_model, panel, monkeypatch,
                                              tmp_path):
    """A model file that cannot embed fails with its reason in the panel; the bundled model
    (the default choice) embeds the set, and dense search then finds by meaning."""
    new_set(qtbot, panel, "household")
    add_files(qtbot, panel, monkeypatch, write_corpus(tmp_path / "corpus"))
    assert panel.embedding.label.text().startswith("Embedding: none yet")
    combo = panel.embedding.model_combo
    qtbot.waitUntil(lambda: combo.findText("broken-embedder") >= 0, timeout=20_000)
    assert combo.currentText() == "smollm2-135m-instruct"  # the bundled model comes first

    combo.setCurrentIndex(combo.findText("broken-embedder"))
    with qtbot.waitSignal(panel.strip.ended, timeout=JOB_TIMEOUT_MS) as ended:
        qtbot.mouseClick(panel.embedding.embed_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "failed"
    summary = panel.job_report.summary
    assert "failed:" in summary.text() and "broken-embedder" in summary.text()
    assert summary.isVisible()  # the strip is gone: the reason stays on screen

    combo.setCurrentIndex(combo.findText("smollm2-135m-instruct"))
    with qtbot.waitSignal(panel.strip.ended, timeout=JOB_TIMEOUT_MS) as ended:
        qtbot.mouseClick(panel.embedding.embed_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "done", ended.args[0].error
    assert ended.args[0].outcome.embedded == sum(d.chunks for d in panel.documents)
    qtbot.waitUntil(lambda: "-dim" in panel.embedding.label.text(), timeout=20_000)
    assert panel.embedding.label.text().endswith(" · 576-dim · mean pooling")  # SmolLM2-135M

    search = panel.search
    search.mode.setCurrentIndex(search.mode.findData("dense"))
    qtbot.keyClicks(search.query, "how long to steep green tea")
    qtbot.mouseClick(search.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: search.results.rowCount() > 0, timeout=20_000)
    assert search.status.text().endswith("hits (Dense).")
    assert all(hit.dense_rank is not None for hit in search.hits)


def test_remove_a_document_then_a_global_set(qtbot, panel, monkeypatch, tmp_path):
    new_set(qtbot, panel, "household")
    new_set(qtbot, panel, "shared", this_session=False)
    assert [panel.set_list.item(i).text() for i in range(panel.set_list.count())] == [
        "household", "shared  (global)"]  # the session's own sets first
    assert panel.current.session_id is None
    add_files(qtbot, panel, monkeypatch, write_corpus(tmp_path / "corpus"))
    click_row(qtbot, panel.table, row_titled(panel, "bikes"))
    qtbot.waitUntil(lambda: bool(panel.chunk_view.chunks), timeout=20_000)
    qtbot.mouseClick(panel.remove_document_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=20_000)
    assert [d.path.endswith("handbook.md") for d in panel.documents] == [True]
    assert not panel.chunk_view.chunks  # the removed document's chunks are gone from view

    asked = []
    monkeypatch.setattr(documents_panel, "confirm", lambda *args: asked.append(args) or True)
    qtbot.mouseClick(panel.remove_set_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.set_list.count() == 1
                    and background_calls_in_flight() == 0, timeout=20_000)
    assert "'shared'" in asked[0][2]
    assert panel.current.name == "household" and panel.table.rowCount() == 0


def test_the_window_has_a_documents_tab_that_follows_the_session(qtbot, main_window):
    window = main_window
    tabs = window.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    index = titles.index("Documents")
    assert titles[index - 1] == "Models"
    qtbot.mouseClick(tabs.tabBar(), Qt.MouseButton.LeftButton,
                     pos=tabs.tabBar().tabRect(index).center())
    panel = window.documents_panel
    assert tabs.currentWidget() is panel and panel.isVisible()
    first = window.workspace.session.id
    new_set(qtbot, panel, "first-session-notes")
    assert panel.current.session_id == first

    window.create_session("Another")  # the tab stays in view while the session changes
    qtbot.waitUntil(lambda: panel.set_list.count() == 0 and panel.current is None,
                    timeout=20_000)
    window.open_session(first)
    qtbot.waitUntil(lambda: panel.current is not None
                    and panel.current.name == "first-session-notes", timeout=20_000)


def test_a_hybrid_search_before_embedding_points_at_the_embed_button(qtbot, panel,
                                                                     monkeypatch, tmp_path):
    """The message names the button beside the search, not a command line, and goes away
    (the search runs) once the set is embedded."""
    new_set(qtbot, panel, "household")
    add_files(qtbot, panel, monkeypatch, write_corpus(tmp_path / "corpus"))
    search = panel.search
    assert search.mode.currentData() == "hybrid"
    qtbot.keyClicks(search.query, "how long to steep green tea")
    qtbot.keyClick(search.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Embed with" in search.status.text(), timeout=20_000)
    message = search.status.text()
    assert "'household'" in message and "Hybrid" in message
    assert "workbench docs" not in message
    assert panel.embedding.embed_button.text() == "Embed with"  # the button it names
    assert panel.embedding.embed_button.isVisible() and panel.embedding.embed_button.isEnabled()

    combo = panel.embedding.model_combo
    qtbot.waitUntil(lambda: combo.currentText() == "smollm2-135m-instruct", timeout=20_000)
    with qtbot.waitSignal(panel.strip.ended, timeout=JOB_TIMEOUT_MS) as ended:
        qtbot.mouseClick(panel.embedding.embed_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "done", ended.args[0].error
    qtbot.waitUntil(lambda: search.results.rowCount() > 0, timeout=30_000)
    assert "Embed with" not in search.status.text()
    assert search.status.text().endswith("hits (Hybrid).")


def test_a_new_set_with_the_dialogs_defaults_is_seen_by_the_next_session(qtbot, parts, panel):
    service, _models, first = parts
    new_set(qtbot, panel, "team-handbook", this_session=False)  # OK on the defaults
    assert panel.current.session_id is None

    second = WorkspaceService(service.store).create_session("Next day").session.id
    other = DocumentsPanel(service, None, lambda: second)
    qtbot.addWidget(other)
    other.show()
    qtbot.waitUntil(lambda: other.set_list.count() == 1 and other.current is not None,
                    timeout=20_000)
    assert other.current.name == "team-handbook"
    assert other.set_list.item(0).text() == "team-handbook  (global)"
    assert second != first
    qtbot.waitUntil(lambda: background_calls_in_flight() == 0, timeout=20_000)
