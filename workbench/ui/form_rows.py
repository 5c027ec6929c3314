"""Pieces the window's forms share (the Improve dialog, the experiment dialogs): a
whole-number box set up in one call, and several widgets side by side as one form row."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QSpinBox, QWidget


def spin_box(low: int, high: int, value: int, *, prefix: str = "", suffix: str = "",
             special: str = "", tip: str = "") -> QSpinBox:
    """``special``: the text shown at ``low`` instead of the number (as "no time limit")."""
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setPrefix(prefix)
    spin.setSuffix(suffix)
    spin.setSpecialValueText(special)
    spin.setToolTip(tip)
    return spin


class FormRow(QWidget):
    """Widgets side by side as one row of a QFormLayout (a form row holds one widget), with
    no margins of its own. A part given as (widget, stretch) takes that share of the spare
    width; where none does, the spare width is left after the last one."""

    def __init__(self, *parts, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        stretched = False
        for part in parts:
            widget, stretch = part if isinstance(part, tuple) else (part, 0)
            row.addWidget(widget, stretch)
            stretched = stretched or stretch > 0
        if not stretched:
            row.addStretch(1)
