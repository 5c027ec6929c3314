"""Each of the app's own paintEvents ends its painter before it returns, even while something
holds the paintEvent's frame (and so its locals): a sampling profiler, a debugger, a traceback.
A painter left active makes Qt warn "endPaint() called with active painter", and one destroyed
later on another thread crashed the window soak."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QWidget

from workbench.core.tokens import TokenInfo, TokenTrace
from workbench.ui.compare.token_view import TokenView
from workbench.ui.compose.context_bar import ContextBar
from workbench.ui.elided_label import ElidedCombo, ElidedLabel


@pytest.fixture
def held_paint_frames():
    """Keep every paintEvent's frame alive, as a profiler sampling the GUI thread does."""
    held = []

    def keep(frame, event, _arg):
        if event == "return" and frame.f_code.co_name == "paintEvent":
            held.append(frame)

    sys.setprofile(keep)
    yield held
    sys.setprofile(None)


def widgets():
    label = ElidedLabel("a label long enough to be elided in a narrow widget", preferred_chars=8)
    combo = ElidedCombo()
    combo.addItem("gemma-3-270m-it-qat-q4_0-unquantized-q4_k_m.gguf")
    tokens = TokenView()
    tokens.set_trace(TokenTrace((TokenInfo(1, b"Hello"), TokenInfo(2, b" world"))))
    return [label, combo, ContextBar(), tokens]


def painted(widget: QWidget, frames) -> bool:
    return any(frame.f_locals.get("self") in (widget, *widget.findChildren(QWidget))
               for frame in frames)


def test_every_painter_is_ended_before_its_paint_event_returns(qtbot, held_paint_frames):
    for widget in widgets():
        qtbot.addWidget(widget)
        widget.resize(120, 40)
        widget.show()  # painted by the event loop into the window's backing store
        qtbot.waitUntil(lambda shown=widget: painted(shown, held_paint_frames), timeout=5_000)
    assert held_paint_frames, "no paintEvent of ours ran"
    painters = [frame.f_locals.get("painter") for frame in held_paint_frames]
    assert any(painters), "no paintEvent of ours held a painter"
    still_active = [frame.f_locals["self"] for frame, painter in zip(held_paint_frames, painters)
                    if painter is not None and painter.isActive()]
    assert not still_active  # (under X11, Qt warns at once and may crash when one goes later)
