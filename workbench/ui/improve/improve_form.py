"""The Improve dialog's form: the target (a variant of the grid: its model and sampling), the
proposer, the budget and what the search may change, read back as an ``ImproveRequest``."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QWidget,
)

from ...core.errors import WorkbenchError
from ...core.sampling import SamplingSettings
from ...services.improve import AllowedChanges, ImproveRequest
from ..form_rows import FormRow, spin_box

SAME_AS_TARGET = "Same as the target"


@dataclass(frozen=True)
class Target:
    """A variant the search may improve: its label, its model (None: the bundled one) and the
    sampling it runs with."""

    label: str
    model: str | None
    sampling: SamplingSettings

    def describe(self, model_name: str) -> str:
        return (f"{self.label} — {model_name}, temperature {self.sampling.temperature:g}, "
                f"{self.sampling.max_tokens} answer tokens")


class ImproveForm(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.targets: list[Target] = []
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.target = QComboBox()
        self.target.setToolTip("The variant being improved: its model and sampling (the "
                               "grid's variants)")
        form.addRow("Target", self.target)
        self.proposer = QComboBox()
        self.proposer.setToolTip("The model that reads failures and writes instruction "
                                 "rewrites; a stronger one writes better rewrites")
        form.addRow("Proposer", self.proposer)
        form.addRow("Budget", self._budget_row())
        form.addRow("May change", self._may_change_row())
        form.addRow("Evidence", self._evidence_row())

    def _budget_row(self) -> FormRow:
        self.generations = spin_box(
            10, 1_000_000, 400, suffix=" generations",
            tip="Target-model calls in all, the final held-out comparison included (it is "
                "reserved first)")
        self.minutes = spin_box(0, 10_000, 0, suffix=" min", special="no time limit",
                                tip="Stop the search after this many minutes of work")
        return FormRow(self.generations, self.minutes)

    def _may_change_row(self) -> FormRow:
        self.instruction = QCheckBox("instruction (rewritten by the proposer)")
        self.examples = QCheckBox("examples (which, how many, in what order)")
        self.temperature = QCheckBox("temperature")
        self.system_prompt = QCheckBox("system prompt on/off")
        self.format_line = QCheckBox("answer-format line")
        self.instruction.setChecked(True)
        self.examples.setChecked(True)
        self.format_line.setToolTip(AllowedChanges().format_line_text)
        return FormRow(*self.allowed_boxes())

    def _evidence_row(self) -> FormRow:
        self.held_out = QDoubleSpinBox(minimum=10, maximum=80, value=40, decimals=0)
        self.held_out.setSuffix(" % held out")
        self.held_out.setToolTip("Cases the search never sees: only the final comparison of "
                                 "the start and the best candidate answers them")
        self.seed = spin_box(0, 2**31 - 1, 0, prefix="seed ",
                             tip="Fixes the split, the samples and the search: a job is "
                                 "reproducible and a resumed job ends where it would have")
        return FormRow(self.held_out, self.seed)

    def allowed_boxes(self) -> tuple[QCheckBox, ...]:
        return (self.instruction, self.examples, self.temperature, self.system_prompt,
                self.format_line)

    def set_targets(self, targets: list[Target], names) -> None:
        """``names(model)``: the one name the window shows for a model."""
        chosen = self.target.currentText()
        self.targets = list(targets)
        self.target.clear()
        for target in targets:
            self.target.addItem(target.describe(names(target.model)))
        index = self.target.findText(chosen)
        self.target.setCurrentIndex(max(index, 0))

    def set_proposers(self, models: list[tuple[str, str]]) -> None:
        """(name, what loads it) of each library model."""
        chosen = self.proposer.currentText()
        self.proposer.clear()
        self.proposer.addItem(SAME_AS_TARGET, None)
        for name, reference in models:
            self.proposer.addItem(name, reference)
        self.proposer.setCurrentIndex(max(self.proposer.findText(chosen), 0))

    def allowed(self) -> AllowedChanges:
        return AllowedChanges(instruction=self.instruction.isChecked(),
                              examples=self.examples.isChecked(),
                              temperature=self.temperature.isChecked(),
                              system_prompt=self.system_prompt.isChecked(),
                              format_line=self.format_line.isChecked())

    def request(self, session_id: str, version_id: str | None, n_ctx: int) -> ImproveRequest:
        """The form as a request; what cannot run raises WorkbenchError naming why."""
        index = self.target.currentIndex()
        if not 0 <= index < len(self.targets):
            raise WorkbenchError("Target: add a variant to the grid first; its model and "
                                 "sampling are what the search improves.")
        target = self.targets[index]
        return ImproveRequest(
            session_id=session_id, version_id=version_id, target_model=target.model,
            target_sampling=target.sampling, proposer_model=self.proposer.currentData(),
            budget_generations=self.generations.value(),
            budget_minutes=float(self.minutes.value()) or None, seed=self.seed.value(),
            allowed=self.allowed(), held_out_fraction=self.held_out.value() / 100,
            n_ctx=n_ctx).validate()
