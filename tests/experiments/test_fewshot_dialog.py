"""Experiments ▸ Few-shot vs fine-tune…, driven as the user drives it: the menu opens the
dialog (not modal) naming the model it trains and compares, a bad k list is named, Start runs
the experiment, the report appears with its plot, Save HTML writes it."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument
from workbench_resources import EXAMPLES

from tests.ui.conftest import app_services, make_window  # noqa: F401 - a fixture
from workbench.ui import file_dialogs


def retype(qtbot, widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def test_the_dialog_runs_an_experiment_and_shows_its_report(qtbot, app_services, tmp_path,
                                                            monkeypatch):
    window = make_window(qtbot, app_services)
    window.experiments.fewshot_action.trigger()
    dialog = window.experiments.dialogs["fewshot"]
    assert dialog.isVisible() and not dialog.isModal()
    # It names the model it will train and compare: the one the window loaded.
    loaded = window.models.name  # the library's name for it, which Start passes on
    assert loaded
    assert dialog.model_label.text().startswith(f"{loaded} — the model loaded in the window")
    assert dialog.model_label.toolTip() == window.models.metadata.path
    assert "adapters are trained on it" in dialog.model_label.text()

    data = EXAMPLES / "few-shot-vs-lora.jsonl"
    monkeypatch.setattr(file_dialogs, "ask_open_path", lambda *_: str(data))
    qtbot.mouseClick(dialog.browse, Qt.MouseButton.LeftButton)
    assert dialog.file_edit.text() == str(data) and dialog.from_file.isChecked()

    retype(qtbot, dialog.k_edit, "0, two")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.job is None and "k values: '0, two'" in dialog.step_label.text()

    retype(qtbot, dialog.k_edit, "0, 1")
    retype(qtbot, dialog.held_out.lineEdit(), "2")
    retype(qtbot, dialog.repeats.lineEdit(), "1")
    retype(qtbot, dialog.steps.lineEdit(), "0")
    assert (dialog.held_out.value(), dialog.repeats.value(), dialog.steps.value()) == (2, 1, 0)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=300_000)

    assert dialog.outcome is not None, dialog.step_label.text()
    assert dialog.step_label.text().startswith("Done. Stored in ")
    text = dialog.report.toPlainText()
    assert "Few-shot vs fine-tune" in text and "zero-shot" in text and "1-shot" in text
    image = dialog.report.document().resource(
        QTextDocument.ResourceType.ImageResource, QUrl("figure:0-pass-rate.png"))
    assert image is not None and not image.isNull() and image.width() > 100
    assert "data:image" not in dialog.report.toHtml()

    target = tmp_path / "saved" / "report"
    target.parent.mkdir()
    monkeypatch.setattr(file_dialogs, "ask_save_path", lambda *_: str(target))
    qtbot.mouseClick(dialog.save_html, Qt.MouseButton.LeftButton)
    saved = target.with_suffix(".html").read_text()
    assert "<table>" in saved and "data:image/png;base64," in saved
    window.compare.stop()
