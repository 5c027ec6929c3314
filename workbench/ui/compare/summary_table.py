"""Per-variant summary: mean rating, wins/losses/ties, mean speed."""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from ...core.summary import VariantSummary

COLUMNS = ["Variant", "Outputs", "Mean rating", "Wins / losses / ties", "Mean tok/s",
           "Failed / cancelled"]


class SummaryTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setMaximumHeight(110)
        self.verticalHeader().setDefaultSectionSize(22)

    def show_summaries(self, labels: dict[str, str], summaries: list[VariantSummary]) -> None:
        self.setRowCount(len(summaries))
        for row, s in enumerate(summaries):
            rating = f"{s.mean_rating:.2f} ({s.ratings})" if s.mean_rating is not None else "—"
            speed = f"{s.mean_tokens_per_second:.0f}" if s.mean_tokens_per_second else "—"
            cells = [labels.get(s.variant_id, s.variant_id[:8]), str(s.outputs), rating,
                     f"{s.wins} / {s.losses} / {s.ties}", speed, f"{s.failed} / {s.cancelled}"]
            for column, text in enumerate(cells):
                self.setItem(row, column, QTableWidgetItem(text))
