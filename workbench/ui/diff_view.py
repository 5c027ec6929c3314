"""Word-level differences shown as marked-up text."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from ..core.diff import DiffPart, similarity, word_diff


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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
