"""The token view on its own and in the chat: exact bytes back from the chips (emoji, CJK,
accents), the legend without probabilities, hover and click, a chat reply as tokens."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from workbench.core.generation import GenerationRequest, TokenEvent
from workbench.core.messages import ChatMessage
from workbench.core.sampling import GREEDY
from workbench.core.tokens import TokenInfo, TokenTrace
from workbench.ui.compare.token_view import NO_PROBABILITIES, TokenView, trace_from_events

LEFT = Qt.MouseButton.LeftButton
MIXED = "Tokyo is 東京 🍣🦘 — café, naïve, Zürich. ¿Qué? Привет!"


def hover(flow, index: int) -> str:
    point = flow.token_rect(index).center()
    QApplication.sendEvent(flow, QHelpEvent(QEvent.Type.ToolTip, point, flow.mapToGlobal(point)))
    return QToolTip.text()


def shown(qtbot, trace: TokenTrace) -> TokenView:
    view = TokenView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    view.set_trace(trace)
    return view


def test_the_tokens_of_emoji_and_cjk_text_join_back_to_its_exact_bytes(qtbot, shared_host):
    ids = shared_host.tokenize(MIXED, add_special=False, parse_special=False)
    trace = TokenTrace(tuple(TokenInfo(i, p) for i, p in zip(ids, shared_host.pieces(ids))))
    assert trace.data == MIXED.encode("utf-8")
    view = shown(qtbot, trace)
    assert "".join(view.display_texts()).encode("utf-8") == MIXED.encode("utf-8")
    partial = [chip for chip in view.chips if chip.partial]
    assert partial, "the emoji were expected to span several tokens"
    for chip in partial:  # shown once, on the token that completes the character
        completing = next(c for c in view.chips[chip.index:] if not c.partial)
        assert chip.text == "" and chip.label == "⋯" and completing.text
    assert "🍣" in "".join(c.text for c in view.chips if not c.partial)
    # No probabilities were captured: the view says how to get them, the hover gives ids.
    assert NO_PROBABILITIES in view.legend.text()
    tip = hover(view.flow, partial[0].index)
    assert f"id {partial[0].token.token_id}" in tip and "part of a character" in tip


@pytest.mark.parametrize("prompt", ["Reply with only emoji: 🍣🦘😀",
                                    "Translate 'Tokyo' to Japanese."])
def test_a_generated_reply_in_emoji_or_cjk_joins_back_and_shows_alternatives(qtbot, shared_host,
                                                                            prompt):
    request = GenerationRequest(messages=(ChatMessage("user", prompt),),
                                sampling=GREEDY.with_(max_tokens=40, logprobs=5))
    generation = shared_host.generate(request)
    events = [e for e in generation if isinstance(e, TokenEvent)]
    trace = trace_from_events(events)
    view = shown(qtbot, trace)
    assert any(chip.partial for chip in view.chips)  # characters over several tokens
    shown_bytes = "".join(view.display_texts()).encode("utf-8")
    # Whole characters, exactly; an output that max_tokens cut mid-character ends in bytes
    # that are no character yet: they stay on partial chips, shown as no text.
    assert trace.data.startswith(shown_bytes) and len(trace.data) - len(shown_bytes) < 4
    rest = trace.data[len(shown_bytes):]
    if rest:
        last_text = max(c.index for c in view.chips if c.text)
        assert all(c.partial for c in view.chips[last_text + 1:])
        with pytest.raises(UnicodeDecodeError):
            rest.decode("utf-8")
    assert "Probability of the chosen token" in view.legend.text()
    qtbot.mouseClick(view.flow, LEFT, pos=view.flow.token_rect(2).center())
    token = trace.tokens[2]
    assert len(view.alternative_buttons) == 5 == len(token.top)
    chosen = [b for b in view.alternative_buttons if b.text().startswith("▶")]
    assert len(chosen) == (token.token_id in {a.token_id for a in token.top})
    with qtbot.waitSignal(view.branch_requested) as asked:
        other = next(b for b in view.alternative_buttons if b.isEnabled())
        qtbot.mouseClick(other, LEFT)
    alt = token.top[view.alternative_buttons.index(other)]
    assert asked.args == [2, alt.token_id]


def test_a_chat_reply_switches_to_its_tokens(main_window, qtbot):
    chat = main_window.chat
    main_window.tabs.setCurrentWidget(chat)
    assert not chat.tokens_button.isEnabled()
    chat.input.setPlainText("Name three fruits.")
    with qtbot.waitSignal(chat.reply_finished, timeout=60_000) as reply:
        qtbot.mouseClick(chat.send_button, LEFT)
    qtbot.mouseClick(chat.tokens_button, LEFT)
    view = chat.token_view
    assert chat.pages.currentIndex() == 1 and view.isVisible()
    assert "".join(view.display_texts()) == reply.args[0]
    assert all(len(t.top) == 5 for t in view.trace.tokens)  # the chat asks for k = 5
    tip = hover(view.flow, 0)
    assert "Top 5:" in tip and repr(view.trace.tokens[0].top[1].text) in tip
    qtbot.mouseClick(view.flow, LEFT, pos=view.flow.token_rect(0).center())
    assert not view.alternative_buttons  # the chat lists the choices; it does not branch
    first = view.trace.tokens[0]
    assert view.details.text().startswith(f"Token 0: {first.text!r} (id {first.token_id})")
    assert all(repr(alt.text) in view.details.text() for alt in first.top)
    qtbot.mouseClick(chat.tokens_button, LEFT)
    assert chat.pages.currentWidget() is chat.transcript


def test_special_tokens_are_marked(qtbot, shared_host):
    text = "<|im_start|>assistant\nHi there<|im_end|>"
    ids = shared_host.tokenize(text, add_special=False, parse_special=True)
    trace = TokenTrace(tuple(TokenInfo(i, p) for i, p in zip(ids, shared_host.pieces(ids))))
    view = shown(qtbot, trace)
    assert "".join(view.display_texts()) == text
    special = [chip.text for chip in view.chips if chip.special]
    assert special == ["<|im_start|>", "<|im_end|>"]
    assert "special token" in hover(view.flow, 0)
    assert "special token" not in hover(view.flow, 1)
