"""Experiments ▸ Quantization lab… in the real window: tick one type, Start, read the report;
Cancel kills the running child."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextDocument

from tests.experiments.resume_helpers import lab_children
from tests.ui.conftest import app_services, make_window  # noqa: F401 - a fixture
from workbench.core.paths import app_paths


@pytest.fixture
def window(qtbot, app_services):
    window = make_window(qtbot, app_services, wait_for_model=False)
    yield window
    window.compare.stop()


def _type(qtbot, spin, value: int) -> None:
    spin.selectAll()
    qtbot.keyClicks(spin, str(value))


def test_a_small_lab_from_the_experiments_menu_shows_its_report(qtbot, window, monkeypatch,
                                                                 tmp_path):
    window.experiments.quantlab_action.trigger()
    dialog = window.experiments.dialogs["quantlab"]
    assert dialog.isVisible() and not dialog.isModal()
    qtbot.waitUntil(lambda: dialog.model_box.currentText() == "smollm2-135m-instruct")
    for name, box in dialog.type_boxes.items():  # untick all but Q8_0, as a user clicks
        if box.isChecked() != (name == "Q8_0"):
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))
    assert [n for n, b in dialog.type_boxes.items() if b.isChecked()] == ["Q8_0"]
    _type(qtbot, dialog.repeats_spin, 1)
    _type(qtbot, dialog.pp_spin, 16)
    _type(qtbot, dialog.tg_spin, 4)
    _type(qtbot, dialog.threads_spin, 1)
    assert (dialog.repeats_spin.value(), dialog.pp_spin.value(), dialog.tg_spin.value(),
            dialog.threads_spin.value()) == (1, 16, 4, 1)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=240_000)
    assert dialog.job.status == "done", dialog.step_label.text()
    assert [arm["label"] for arm in dialog.outcome.arms] == ["F16 (reference)", "Q8_0"]
    assert all(arm["status"] == "done" for arm in dialog.outcome.arms)
    qtbot.waitUntil(lambda: "Recommendation" in dialog.report_view.toPlainText())
    assert dialog.progress_bar.value() == 1000
    text = dialog.report_view.toPlainText()
    assert "Recommendation" in text and "Q8_0" in text and "F16 (reference)" in text
    # the plot is a resource of the document (QTextDocument shows no data: URIs)
    document = dialog.report_view.document()
    assert dialog.figure_names
    image = document.resource(QTextDocument.ResourceType.ImageResource,
                              dialog.figure_names[0])
    assert image is not None and not image.isNull() and image.width() > 300
    assert "data:image" not in document.toHtml()
    saved = tmp_path / "saved.md"
    monkeypatch.setattr("workbench.ui.experiments.quantlab_dialog.ask_save_path",
                        lambda *args: str(saved))
    assert dialog.save_md_button.isEnabled()
    qtbot.mouseClick(dialog.save_md_button, Qt.MouseButton.LeftButton)
    assert "| Q8_0 |" in saved.read_text(encoding="utf-8")


def test_cancel_in_the_dialog_kills_the_running_child_and_the_lab_ends_cancelled(qtbot, window):
    """Cancel while llama.cpp's quantizer writes the F16 reference: the lab's job is cancelled,
    which kills that child process; the lab ends cancelled, shown as such, and the killed
    quantizer leaves no file a later lab would take for a finished one."""
    window.experiments.quantlab_action.trigger()
    dialog = window.experiments.dialogs["quantlab"]
    qtbot.waitUntil(lambda: dialog.model_box.currentText() == "smollm2-135m-instruct")
    _type(qtbot, dialog.threads_spin, 1)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(lab_children("quantize")), timeout=120_000)
    quantizer = lab_children("quantize")[0]
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=120_000)
    assert dialog.job.status == "cancelled", dialog.step_label.text()
    assert dialog.step_label.text().startswith("Cancelled: what was measured is shown")
    assert dialog.progress_bar.value() < 500  # where the work stopped, not a finished bar
    assert not Path(f"/proc/{quantizer}").exists()  # killed and reaped
    assert not list(app_paths().data.rglob("*.gguf*"))  # no half (or whole) F16 file
    qtbot.waitUntil(lambda: "The lab was cancelled" in dialog.report_view.toPlainText())
