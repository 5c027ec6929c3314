"""The Chat tab: streams a reply from the bundled model; failures are shown in place."""

from __future__ import annotations

import os
import re
import signal

from PySide6.QtCore import Qt

from tests.ui.conftest import make_window
from workbench.ui.main_window import WINDOW_TITLE


def test_window_opens_loads_the_bundled_model_and_chats(main_window, qtbot):
    window = main_window
    assert window.windowTitle().endswith(WINDOW_TITLE)
    assert window.picker.state.text().startswith("● smollm2-135m-instruct · ")  # the library name
    chat = window.chat
    tokens = []
    chat.input.setPlainText("Say hello to the user.")
    with qtbot.waitSignal(chat.reply_finished, timeout=60_000) as reply:
        chat.send()
        chat._job.token.connect(tokens.append)
    assert reply.args[0].strip() and len(tokens) > 1  # it arrived piece by piece
    assert reply.args[0] in chat.transcript.toPlainText()
    assert "tok/s" in chat.speed_status.text()
    assert [m.role for m in chat.history] == ["user", "assistant"]


def test_stop_and_a_crashed_model(main_window, qtbot):
    chat = main_window.chat
    chat.input.setPlainText("Write a very long essay about the sea.")
    with qtbot.waitSignal(chat.reply_finished, timeout=30_000):
        chat.send()
        qtbot.waitUntil(lambda: len(chat._reply) > 20, timeout=20_000)
        chat.stop_button.click()
    assert_real_figures(chat)
    chat.input.setPlainText("Write a very long essay about mountains.")
    with qtbot.waitSignal(chat.reply_finished, timeout=30_000) as reply:
        chat.send()
        qtbot.waitUntil(lambda: len(chat._reply) > 20, timeout=20_000)
        os.kill(main_window.models.host.pid, signal.SIGKILL)
    assert "model process ended" in chat.banner.text
    assert reply.args[0] and reply.args[0] in chat.transcript.toPlainText()
    chat.input.setPlainText("Hi")
    with qtbot.waitSignal(chat.reply_finished, timeout=60_000) as second:
        chat.send()
    assert second.args[0].strip()  # a fresh model process answered


def test_stop_on_a_frozen_model_shows_the_figures_measured_here(main_window, qtbot):
    """A host too busy (here: stopped) to confirm the stop within its grace: the figures
    line still shows the tokens received, their rate and the first one's latency."""
    chat = main_window.chat
    chat.input.setPlainText("Write a very long essay about the sea.")
    with qtbot.waitSignal(chat.reply_finished, timeout=30_000):
        qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(chat._reply) > 20, timeout=20_000)
        os.kill(main_window.models.host.pid, signal.SIGSTOP)  # it cannot answer the stop
        qtbot.mouseClick(chat.stop_button, Qt.MouseButton.LeftButton)
    assert_real_figures(chat)


def assert_real_figures(chat) -> None:
    """'N tokens · R tok/s · first token L ms · cancelled', N the tokens the reply holds."""
    received = len(chat.reply_traces[-1].tokens)
    figures = re.fullmatch(r"(\d+) tokens? · ([\d.]+) tok/s · first token (\d+) ms · cancelled",
                           chat.speed_status.text())
    assert figures, chat.speed_status.text()
    assert int(figures[1]) == received > 1
    assert float(figures[2]) > 0 and int(figures[3]) > 0


def test_a_model_that_fails_to_load_is_reported_in_place(qtbot, app_services, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_text("not a model")
    window = make_window(qtbot, app_services, wait_for_model=False, model=str(bad))
    qtbot.waitUntil(lambda: bool(window.banner.text), timeout=30_000)
    assert "is not a GGUF file" in window.banner.text and str(bad) in window.banner.text
    assert not window.chat.send_button.isEnabled()
