"""The Library panel offscreen: metadata table, add, drop, remove, fit line, Hub search and download."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.fixtures.fake_hub import fake_hub, hf_env  # noqa: F401 - pytest fixtures
from workbench.services.library import LibraryService
from workbench.ui.job_bridges import background_calls_in_flight
from workbench.ui.library.library_panel import COLUMNS, LibraryPanel

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"


@pytest.fixture
def panel(qtbot, hf_env):
    service = LibraryService()
    widget = LibraryPanel(service)
    widget.show()
    qtbot.waitUntil(lambda: widget.table.rowCount() > 0, timeout=20_000)
    yield widget
    # Let background jobs deliver their results before the widget (their parent) goes away.
    qtbot.waitUntil(lambda: background_calls_in_flight() == 0 and all(
        row.state != "running" for row in widget.hub.rows), timeout=20_000)
    widget.close()
    widget.deleteLater()
    service.close()


def cell(panel, row, column_name):
    return panel.table.item(row, COLUMNS.index(column_name)).text()


def row_of(panel, name):
    return next(i for i, m in enumerate(panel.models) if m.name == name)


def test_lists_the_bundled_model_with_its_file_metadata(panel):
    row = row_of(panel, "smollm2-135m-instruct")
    assert cell(panel, row, "Architecture") == "llama"
    assert cell(panel, row, "Parameters") == "134.5M"
    assert cell(panel, row, "Quantization") == "Q4_1"
    assert cell(panel, row, "Size") == "93.8 MiB"
    assert cell(panel, row, "Context") == "8,192"
    assert cell(panel, row, "Chat template") == "yes"
    assert cell(panel, row, "License") == "apache-2.0"
    assert cell(panel, row, "Source") == "bundled"


def test_selecting_a_model_shows_the_fit_estimate(panel, qtbot):
    panel.select("smollm2-135m-instruct")
    qtbot.waitUntil(lambda: "n_gpu_layers" in panel.fit_label.text(), timeout=10_000)
    assert "KV cache 360.0 MiB" in panel.fit_label.text()  # n_ctx 4096 × 4 sequences
    assert "(4 parallel, each its own KV cache)" in panel.fit_label.text()
    panel.n_ctx.setValue(8192)
    qtbot.waitUntil(lambda: "KV cache 720.0 MiB" in panel.fit_label.text(), timeout=10_000)
    assert not panel.remove_button.isEnabled()  # the bundled model cannot be removed


def test_add_a_file_then_remove_it_keeping_the_file(panel, qtbot, bundled_model, tmp_path):
    copy = tmp_path / "my-copy.gguf"
    shutil.copy(bundled_model, copy)
    with qtbot.waitSignal(panel.models_changed, timeout=20_000):
        panel.add_files([copy])
    row = row_of(panel, "my-copy")
    assert cell(panel, row, "Source") == "local" and cell(panel, row, "Quantization") == "Q4_1"
    panel.select("my-copy")
    assert panel.remove_button.isEnabled()
    panel.confirm_remove = lambda model: False  # "Remove", without deleting the file
    with qtbot.waitSignal(panel.models_changed, timeout=20_000):
        panel.remove_selected()
    assert "my-copy" not in [m.name for m in panel.models] and copy.exists()


def test_drop_a_gguf_file_then_remove_it_from_disk(panel, qtbot, bundled_model, tmp_path):
    copy = tmp_path / "dropped.gguf"
    shutil.copy(bundled_model, copy)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy)), QUrl.fromLocalFile(str(tmp_path / "x.txt"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.models_changed, timeout=20_000):
        panel.dropEvent(event)
    panel.select("dropped")
    panel.confirm_remove = lambda model: True  # confirmed twice: delete from disk
    with qtbot.waitSignal(panel.models_changed, timeout=20_000):
        panel.remove_selected()
    assert not copy.exists() and "dropped" not in [m.name for m in panel.models]


def test_a_bad_file_is_reported_in_place(panel, qtbot, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all")
    panel.add_files([bad])
    qtbot.waitUntil(lambda: "not a GGUF file" in panel.banner.text, timeout=10_000)


def test_hub_search_list_files_and_download(panel, qtbot, fake_hub):
    hub = panel.hub
    hub.search_edit.setText("smol")
    with qtbot.waitSignal(hub.searched, timeout=10_000):
        hub.search()
    assert hub.results.rowCount() == 1
    assert hub.results.item(0, 0).text() == SMOL and hub.results.item(0, 1).text() == "5,000"
    with qtbot.waitSignal(hub.files_listed, timeout=10_000):
        hub.results.selectRow(0)
    groups = [hub.files.topLevelItem(i).text(0) for i in range(hub.files.topLevelItemCount())]
    assert groups == ["Q8_0", "Q4_1"]  # smallest first
    q4 = hub.files.topLevelItem(1).child(0)
    assert q4.text(1) == "93.8 MiB"
    hub.files.setCurrentItem(q4)
    assert hub.download_button.isEnabled()
    with qtbot.waitSignal(panel.model_added, timeout=30_000):
        row = hub.download_selected()
    assert row.state == "done" and row.bar.value() == 1000
    qtbot.waitUntil(lambda: any(m.source == "hub" for m in panel.models), timeout=20_000)


def test_hub_errors_show_in_the_banner(panel, qtbot, fake_hub, monkeypatch):
    hub = panel.hub
    hub.list_files("meta-llama/Gated-GGUF")
    qtbot.waitUntil(lambda: "is gated or private" in hub.banner.text, timeout=10_000)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.search()
    qtbot.waitUntil(lambda: "offline mode is on" in hub.banner.text, timeout=10_000)
    assert hub.search_button.isEnabled()


def test_a_broken_download_shows_why_and_retry_resumes_it(panel, qtbot, fake_hub):
    fake_hub.drop_after, fake_hub.drops, fake_hub.down_after_drop = 30_000_000, 1, True
    row = panel.hub.download(SMOL, "SmolLM2-135M-Instruct.Q4_1.gguf")
    qtbot.waitUntil(lambda: row.state == "failed", timeout=20_000)
    assert "broke off" in row.detail.text() and not row.retry_button.isHidden()
    fake_hub.down = False
    with qtbot.waitSignal(row.finished, timeout=30_000):
        row.retry_button.click()
    assert row.state == "done"


def received(cache) -> int:
    """Bytes of the download kept so far (its .partial file in the Hugging Face cache)."""
    return sum(p.stat().st_size for p in cache.rglob("*.partial"))


def test_cancel_mid_download_ends_cancelled_and_resume_finishes_it(panel, qtbot, fake_hub,
                                                                   hf_env):
    # The server pauses mid-body until released; the client has written two of
    # huggingface_hub's 10 MiB chunks by then.
    fake_hub.hold_after = 30_000_000
    row = panel.hub.download(SMOL, "SmolLM2-135M-Instruct.Q4_1.gguf")
    qtbot.waitUntil(lambda: fake_hub.held.is_set() and received(hf_env) >= 20_000_000
                    and "of 93.8 MiB" in row.detail.text(), timeout=20_000)
    qtbot.mouseClick(row.cancel_button, Qt.LeftButton)
    assert row.detail.text() == "Cancelling…"
    fake_hub.release.set()
    qtbot.waitUntil(lambda: row.state != "running", timeout=20_000)
    assert row.state == "cancelled" and row.job.state.status == "cancelled"
    assert row.detail.text().startswith("Cancelled") and row.retry_button.text() == "Resume"
    assert not any(m.source == "hub" for m in panel.models)
    with qtbot.waitSignal(row.finished, timeout=30_000):
        qtbot.mouseClick(row.retry_button, Qt.LeftButton)
    resumed = fake_hub.downloads_of("SmolLM2-135M-Instruct.Q4_1.gguf")[-1]
    assert resumed[2].startswith("bytes=") and int(resumed[2][6:].rstrip("-")) >= 20_000_000
    assert row.state == "done" and row.job.state.status == "done"
