"""One cell of the comparison grid: streamed text, timing figures, rating."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
)

from ..core.model_info import describe_engine
from ..core.ratings import THUMBS_DOWN, THUMBS_UP
from ..core.runs import Output
from ..core.sampling import describe_sampling


class OutputCell(QFrame):
    rated = Signal(str, int, str)  # output id, score, note
    rerun_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.output: Output | None = None
        self.key: tuple[str, str] | None = None  # (variant id, case id) of the shown cell
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        layout.addWidget(self.text, 1)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#c62828")
        self.error.hide()
        layout.addWidget(self.error)
        self.flags = QLabel()  # filled by output filters (plugins)
        self.flags.setWordWrap(True)
        self.flags.setStyleSheet("color:#e65100")
        self.flags.hide()
        layout.addWidget(self.flags)
        self.stats = QLabel("")
        self.stats.setStyleSheet("color:#555")
        layout.addWidget(self.stats)
        row = QHBoxLayout()
        self.up = QToolButton(text="▲ good", toolTip="Thumbs up (stored as 5 stars)")
        self.down = QToolButton(text="▼ bad", toolTip="Thumbs down (stored as 1 star)")
        self.stars = QComboBox()
        self.stars.addItems(["stars…", "1", "2", "3", "4", "5"])
        self.note = QLineEdit(placeholderText="note")
        self.rerun = QToolButton(text="⟳", toolTip="Generate this cell again")
        for widget in (self.up, self.down, self.stars, self.note, self.rerun):
            row.addWidget(widget)
        layout.addLayout(row)
        self.up.clicked.connect(lambda: self.rate(THUMBS_UP))
        self.down.clicked.connect(lambda: self.rate(THUMBS_DOWN))
        self.stars.activated.connect(self._on_stars)
        self.rerun.clicked.connect(self.rerun_requested.emit)
        self._set_rating_enabled(False)

    # -- streaming -----------------------------------------------------------------------

    def clear(self) -> None:
        """Empty, for another run of the same grid shape."""
        self.start()
        self.stats.setText("")
        self.stats.setToolTip("")
        self.show_flags([])
        self.stars.setCurrentIndex(0)
        self.note.clear()

    def start(self) -> None:
        self.output = None
        self.text.clear()
        self.error.hide()
        self.flags.hide()
        self.stats.setText("generating…")
        self._set_rating_enabled(False)

    def append(self, piece: str) -> None:
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)

    def show_output(self, output: Output, score: int | None = None) -> None:
        self.output = output
        if self.text.toPlainText() != output.text:
            self.text.setPlainText(output.text)
        if output.error:
            self.error.setText(output.error)
            self.error.show()
        else:
            self.error.hide()
        parts = [f"{output.token_count} tokens"]
        if output.tokens_per_second:
            parts.append(f"{output.tokens_per_second:.0f} tok/s")
        if output.time_to_first_token_s is not None and not output.error:
            parts.append(f"first {output.time_to_first_token_s * 1000:.0f} ms")
        parts.append(output.finish_reason or "—")
        self.stats.setText(" · ".join(parts))
        self.stats.setToolTip(provenance(output))
        self._set_rating_enabled(True)
        self.stars.setCurrentIndex(score or 0)

    def show_flags(self, reasons: list[str]) -> None:
        self.flags.setText("⚑ " + "; ".join(reasons) if reasons else "")
        self.flags.setVisible(bool(reasons))
        self.setStyleSheet("OutputCell { border: 2px solid #ef6c00; }" if reasons else "")

    # -- rating --------------------------------------------------------------------------

    def _on_stars(self, index: int) -> None:
        if index:  # item 0 is the "stars…" placeholder
            self.rate(index)

    def rate(self, score: int) -> None:
        if self.output is None:
            return
        self.stars.setCurrentIndex(score)
        self.rated.emit(self.output.id, score, self.note.text())

    def _set_rating_enabled(self, enabled: bool) -> None:
        for widget in (self.up, self.down, self.stars, self.note, self.rerun):
            widget.setEnabled(enabled)


def provenance(output: Output) -> str:
    """What decided this output's tokens: the first place to look when two cells differ."""
    seed = f" · seed {output.seed}" if output.seed is not None else ""
    lines = [f"Sampling: {describe_sampling(output.sampling)}{seed}"]
    if output.engine_settings:
        lines.append(f"Engine: {describe_engine(output.engine_settings)}")
    if output.adapter_path:
        lines.append(f"Adapter: {output.adapter_path} × {output.adapter_scale}")
    return "\n".join(lines)
