"""Every candidate of an improve job, one row each, in the order made: its slot, its parent,
what it changed (the proposer's critique on hover), its training and held-out scores. The best
so far is marked; a double-click asks to open the candidate's prompt version."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ...core.improve import Candidate, Evaluation

COLUMNS = ("Candidate", "Parent", "Change", "Training", "Held-out")


TRAINING_TIP = ("Passed / scored training cases. Successive halving scores every proposal on a "
                "small sample first and only the best on every training case: a rate marked "
                "(sample) comes from fewer cases and is not comparable with a full one.")


def score_text(evaluation: Evaluation | None, full: int | None = None) -> str:
    """"3/4 · 75%", "(sample)" after it when it covers fewer than ``full`` cases, or "–"
    before it was scored."""
    if evaluation is None or evaluation.rate is None:
        return "–"
    sample = " (sample)" if full and len(evaluation.case_ids) < full else ""
    return f"{evaluation.passed}/{evaluation.total} · {evaluation.rate:.0%}{sample}"


class CandidatesTable(QTableWidget):
    open_requested = Signal(object)  # the Candidate whose prompt version to open

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeaderItem(3).setToolTip(TRAINING_TIP)
        self.verticalHeader().setVisible(False)
        # rows as tall as their wrapped change, also after the columns are resized
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(True)  # a change lists several parts: wrapped, whole
        self.candidates: list[Candidate] = []
        self.best_id: str | None = None
        self.best_label = "best so far"
        self.cellDoubleClicked.connect(self._double_clicked)

    def show_candidate(self, candidate: Candidate) -> None:
        """Add the candidate, or update its row (it was scored again, on more cases)."""
        ids = [c.id for c in self.candidates]
        if candidate.id in ids:
            row = ids.index(candidate.id)
            self.candidates[row] = candidate
        else:
            row = len(self.candidates)
            self.candidates.append(candidate)
            self.insertRow(row)
        self._fill(row)

    def show_all(self, candidates, best_id: str | None, best_label: str) -> None:
        self.setRowCount(0)
        self.candidates = []
        self.best_id, self.best_label = best_id, best_label
        for candidate in candidates:
            self.show_candidate(candidate)

    def mark_best(self, best_id: str | None, label: str = "best so far") -> None:
        previous = self.best_id
        self.best_id, self.best_label = best_id, label
        for row, candidate in enumerate(self.candidates):
            if candidate.id in (previous, best_id):
                self._fill(row)

    def row_of(self, candidate_id: str) -> int:
        return next(i for i, c in enumerate(self.candidates) if c.id == candidate_id)

    def _fill(self, row: int) -> None:
        candidate = self.candidates[row]
        slots = {c.id: c.slot for c in self.candidates}
        best = candidate.id == self.best_id
        name = f"{candidate.slot} ({self.best_label})" if best else candidate.slot
        parent = slots.get(candidate.parent_id, "") if candidate.parent_id else "—"
        texts = (name, parent, candidate.change,
                 score_text(candidate.training(), self._full_training()),
                 score_text(candidate.held_out()))
        hover = candidate.critique.strip()
        tip = (f"{candidate.change}\n\nThe proposer's critique: {hover}" if hover
               else f"{candidate.change}\n\nDouble-click to open this version in the composer")
        for column, text in enumerate(texts):
            item = QTableWidgetItem(text)
            item.setToolTip(tip if column == 2 else
                            "Double-click to open this version in the composer")
            if best:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            if column >= 3:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, column, item)

    def _full_training(self) -> int | None:
        """How many training cases a full score covers: the start is scored on all of them."""
        start = self.candidates[0].training() if self.candidates else None
        return len(start.case_ids) if start is not None else None

    def _double_clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.candidates):
            self.open_requested.emit(self.candidates[row])
