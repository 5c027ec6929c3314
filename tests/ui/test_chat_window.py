"""The main window offscreen: it loads the bundled model and streams a reply."""

from __future__ import annotations

import os
import signal

from workbench.services.models import ModelService
from workbench.ui.chat_window import WINDOW_TITLE, ChatWindow


def open_window(qtbot, model=None):
    service = ModelService()
    window = ChatWindow(service, model)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.model_loaded, timeout=60_000):
        window.load_model()
    return service, window


def test_window_opens_loads_and_streams_a_reply(qtbot):
    service, window = open_window(qtbot)
    try:
        assert window.windowTitle() == WINDOW_TITLE
        assert "SmolLM2-135M-Instruct" in window.model_status.text()
        tokens = []
        window.input.setPlainText("Say hello to the user.")
        with qtbot.waitSignal(window.reply_finished, timeout=60_000) as reply:
            window._job_token_probe = tokens  # noqa: SLF001 - keeps the list alive
            window.send()
            window._job.token.connect(tokens.append)
        assert reply.args[0].strip()
        assert len(tokens) > 1  # it arrived piece by piece
        assert reply.args[0] in window.transcript.toPlainText()
        assert "tok/s" in window.speed_status.text()
        assert [m.role for m in window.history] == ["user", "assistant"]
        assert window.send_button.isEnabled() and not window.stop_button.isEnabled()
    finally:
        service.close()


def test_stop_ends_the_reply(qtbot):
    service, window = open_window(qtbot)
    try:
        window.input.setPlainText("Write a very long essay about the sea.")
        with qtbot.waitSignal(window.reply_finished, timeout=30_000):
            window.send()
            qtbot.waitUntil(lambda: len(window._reply) > 20, timeout=20_000)
            window.stop_button.click()
        assert "cancelled" in window.speed_status.text()
    finally:
        service.close()


def test_a_crashed_model_is_shown_in_the_banner_and_the_partial_reply_kept(qtbot):
    service, window = open_window(qtbot)
    try:
        window.input.setPlainText("Write a very long essay about mountains.")
        with qtbot.waitSignal(window.reply_finished, timeout=30_000) as reply:
            window.send()
            qtbot.waitUntil(lambda: len(window._reply) > 20, timeout=20_000)
            os.kill(window.host.pid, signal.SIGKILL)
        assert "model process ended" in window.banner.text
        assert reply.args[0] and reply.args[0] in window.transcript.toPlainText()
        # The next message works on a fresh model process.
        window.input.setPlainText("Hi")
        with qtbot.waitSignal(window.reply_finished, timeout=60_000) as second:
            window.send()
        assert second.args[0].strip()
    finally:
        service.close()


def test_a_model_that_fails_to_load_is_reported_in_place(qtbot, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_text("not a model")
    service = ModelService()
    window = ChatWindow(service, str(bad))
    qtbot.addWidget(window)
    window.show()
    window.load_model()
    qtbot.waitUntil(lambda: bool(window.banner.text), timeout=30_000)
    assert "is not a GGUF file" in window.banner.text and str(bad) in window.banner.text
    assert not window.send_button.isEnabled()
