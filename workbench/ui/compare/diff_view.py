"""Word-level differences shown as marked-up text, and where the two outputs' tokens part
(the token inspector's first divergence)."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from ...core.diff import DiffPart, similarity, word_diff
from ...core.tokens import Divergence, TokenInfo
from ...core.wording import counted

TOP_SHOWN = 5  # alternatives listed per side at the first differing position


def diff_html(parts: list[DiffPart]) -> str:
    out = []
    for part in parts:
        text = html.escape(part.text).replace("\n", "<br>")
        if part.op == "insert":
            out.append(f'<span style="background:#c8e6c9; color:#1b5e20">{text}</span>')
        elif part.op == "delete":
            out.append(f'<span style="background:#ffcdd2; color:#b71c1c; '
                       f'text-decoration:line-through">{text}</span>')
        else:
            out.append(text)
    return "".join(out)


def _token_html(label: str, token: TokenInfo | None) -> str:
    """One side at the first differing position: its token and its top-k there."""
    name = f"<b>{html.escape(label)}</b>"
    if token is None:
        return f"{name}: ended here"
    chosen = html.escape(repr(token.text))
    probability = "" if token.probability is None else f" (p {_percent(token.probability)})"
    top = " · ".join(f"{html.escape(repr(alt.text))} {_percent(math.exp(alt.logprob))}"
                     for alt in token.top[:TOP_SHOWN])
    return (f"{name}: <code>{chosen}</code>{probability}"
            + (f"<br>&nbsp;&nbsp;top {min(len(token.top), TOP_SHOWN)} there: {top}"
               if top else "<br>&nbsp;&nbsp;(no alternatives recorded)"))


def _percent(probability: float) -> str:
    return f"{probability:.1%}" if probability < 0.1 else f"{probability:.0%}"


def divergence_sentence(divergence: Divergence) -> str:
    """Where the two outputs part, in words: "both start with the same 3 tokens; they first
    differ at token 3" (positions count from 0, as the token view's do), "they differ from
    the first token on" when nothing is shared, "identical" when nothing differs."""
    unit = "token" if divergence.same_tokenizer else "character"
    if divergence.position is None:
        return f"none — the two outputs are identical, {counted(divergence.shared, unit)}."
    if divergence.shared == 0:
        return f"they differ from the first {unit} on ({unit} 0)."
    return (f"both start with the same {counted(divergence.shared, unit)}; they first differ "
            f"at {unit} {divergence.position}.")


def divergence_html(divergence: Divergence, label_a: str, label_b: str) -> str:
    """The shared prefix, the first differing position, both tokens and their top-k."""
    note = (f'<br><span style="color:#e65100">{html.escape(divergence.note)}</span>'
            if divergence.note else "")
    head = f"<b>First divergence:</b> {html.escape(divergence_sentence(divergence))}"
    if divergence.position is None:
        return head + note
    sides = ""
    if divergence.same_tokenizer:
        sides = (f"<br>{_token_html(label_a, divergence.a)}"
                 f"<br>{_token_html(label_b, divergence.b)}")
    return head + sides + note


class DiffDialog(QDialog):
    def __init__(self, title: str, old_label: str, old: str, new_label: str, new: str,
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(760, 520)
        layout = QVBoxLayout(self)
        self.parts = word_diff(old, new)
        layout.addWidget(QLabel(
            f'<span style="background:#ffcdd2">removed</span> from <b>{html.escape(old_label)}</b>, '
            f'<span style="background:#c8e6c9">added</span> in <b>{html.escape(new_label)}</b> — '
            f"{similarity(old, new):.0%} alike"))
        self.view = QTextBrowser()
        self.view.setHtml(diff_html(self.parts))
        layout.addWidget(self.view, 1)
        self.labels = (old_label, new_label)
        self.divergence = QLabel("<b>First divergence:</b> comparing the tokens…")
        self.divergence.setWordWrap(True)
        self.divergence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.divergence.setStyleSheet("padding:4px; background:#f5f5f5")
        layout.addWidget(self.divergence)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def show_divergence(self, divergence: Divergence) -> None:
        self.divergence.setText(divergence_html(divergence, *self.labels))

    def show_divergence_error(self, message: str) -> None:
        self.divergence.setText("<b>First divergence:</b> could not be found — "
                                + html.escape(message))
