"""Blind pairwise rating: two answers to the same case, which variant wrote which hidden."""

from __future__ import annotations

import random
from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from ...core.runs import Output

Pair = tuple[str, Output, Output]  # case description, two outputs of different variants


class BlindDialog(QDialog):
    def __init__(self, pairs: list[Pair], record: Callable[[str, str, str], None], parent=None,
                 seed: int | None = None):
        super().__init__(parent)
        self.setWindowTitle("Blind comparison")
        self.resize(900, 520)
        self.rng = random.Random(seed)
        self.pairs = list(pairs)
        self.rng.shuffle(self.pairs)
        self.record = record
        self.index = -1
        self.recorded = 0
        self.shown: tuple[Output, Output] | None = None
        layout = QVBoxLayout(self)
        self.progress = QLabel()
        self.case = QLabel()
        self.case.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.case)
        answers = QHBoxLayout()
        self.left, self.right = QPlainTextEdit(), QPlainTextEdit()
        for title, view in (("Answer 1", self.left), ("Answer 2", self.right)):
            column = QVBoxLayout()
            column.addWidget(QLabel(f"<b>{title}</b>"))
            view.setReadOnly(True)
            column.addWidget(view)
            answers.addLayout(column)
        layout.addLayout(answers, 1)
        buttons = QHBoxLayout()
        self.first_better = QPushButton("1 is better")
        self.tie = QPushButton("Tie")
        self.second_better = QPushButton("2 is better")
        self.skip = QPushButton("Skip")
        for button in (self.first_better, self.tie, self.second_better, self.skip):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.first_better.clicked.connect(lambda: self.choose("first"))
        self.second_better.clicked.connect(lambda: self.choose("second"))
        self.tie.clicked.connect(lambda: self.choose("tie"))
        self.skip.clicked.connect(self.next_pair)
        self.next_pair()

    def next_pair(self) -> None:
        self.index += 1
        if self.index >= len(self.pairs):
            self.accept()
            return
        case, a, b = self.pairs[self.index]
        # Which side each variant lands on is random: position must not give it away.
        self.shown = (a, b) if self.rng.random() < 0.5 else (b, a)
        self.progress.setText(f"Pair {self.index + 1} of {len(self.pairs)} — "
                              f"{self.recorded} recorded")
        self.case.setText(f"Case: {case}")
        self.left.setPlainText(self.shown[0].text)
        self.right.setPlainText(self.shown[1].text)

    def choose(self, which: str) -> None:
        first, second = self.shown
        winner = {"first": "a", "second": "b", "tie": "tie"}[which]
        self.record(first.id, second.id, winner)
        self.recorded += 1
        self.next_pair()
