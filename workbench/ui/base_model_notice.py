"""The notice a base model gets, with one click to raw completion (core/base_model.py).

A base model continues text; asked through a chat template it answers with noise. The model
bar shows this notice for the loaded model, the variants table for the rows that use one;
each decides what "Use raw completion" does there (the file's template, or the row's flags).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from ..core.base_model import NOTICE, loaded_looks_base, why_base
from ..core.chat_template import RAW_SOURCE

COMPACT = "⚠ Base model — use raw completion"
STYLE = ("BaseModelNotice { background:#fff3e0; border:1px solid #ffb74d; border-radius:3px; }"
         " QLabel { color:#e65100; font-weight:bold; }")


class _Loads(QObject):
    """Every model the bar loads passes here: a file's template may have changed (the bar's
    own notice made it raw), so the variants' notice looks again."""

    seen = Signal()


_loads: _Loads | None = None


def bar_loads() -> _Loads:
    global _loads
    if _loads is None:
        _loads = _Loads()
    return _loads


class BaseModelNotice(QFrame):
    use_raw = Signal()  # "Use raw completion" was clicked

    def __init__(self, parent=None, *, compact: bool = False):
        """``compact``: one button that says it all (the model bar has little room left);
        else the sentence, then the button."""
        super().__init__(parent)
        self.compact = compact
        self.setObjectName("base-model-notice")
        self.setStyleSheet(STYLE)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 1, 2, 1)
        self.label = QLabel(f"⚠ {NOTICE}")
        self.raw_button = QPushButton("Use raw completion")
        self.raw_button.setToolTip("Send the prompt's text as written, with no chat markup, "
                                   "for the model to continue (the built-in template 'raw')")
        row.addWidget(self.label, 1)
        row.addWidget(self.raw_button)
        if compact:
            self.label.hide()
            self.raw_button.setText(COMPACT)
            self.raw_button.setStyleSheet("color:#e65100; font-weight:bold")
        self.raw_button.clicked.connect(lambda: self.use_raw.emit())
        self.hide()

    def show_notice(self, text: str, why: str) -> None:
        self.label.setText(f"⚠ {text}")
        self.label.setToolTip(why)
        if self.compact:
            self.raw_button.setToolTip(f"{text}.\n\n{why}\n\nClick: raw completion.")
        self.show()

    def show_for_loaded(self, meta) -> None:
        """The model bar: the loaded model, unless it is a chat model or already raw."""
        bar_loads().seen.emit()
        if loaded_looks_base(meta) and meta.chat_template_source != RAW_SOURCE:
            self.show_notice(NOTICE, why_base(meta.name))
        else:
            self.hide()
