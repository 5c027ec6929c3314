"""The assertions of one test case, and of every case in its set, edited as a table.

Each row is one assertion: its type (with a "not" box for the ``not-`` form), its value (a
list one item per line, a JSON Schema as JSON text), weight, threshold and judge model. What
cannot run is refused with validation's sentence shown in the dialog; nothing is dropped
silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.evaluation import ASSERTION_TYPES, MODEL_GRADED, Assertion
from ...services.evaluation.validation import LIST_TYPES, NUMBER_TYPES, assertion_problem
from ...services.workspace import CaseChecks, SetChecks

COLUMNS = ["type", "not", "value", "weight", "threshold", "judge"]
ROW_HEIGHT = 64  # three lines of value: a short list fits without scrolling
# Types whose empty value means "use the default" (expected output, any filter, no schema).
OPTIONAL_VALUE = {"is-json", "rouge-l", "levenshtein", "flagged", "latency",
                  "tokens-per-second", "contains-json", "is-valid-openai-tools-call"}
NO_VALUE = {"is-refusal", "assert-set", "cost", "perplexity", "perplexity-score"}
JSON_VALUE = ("is-json", "contains-json", "is-valid-openai-tools-call")  # a schema, the tools


def value_text(value: Any) -> str:
    """An assertion's value as the editor shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, indent=2)
    return str(value)


def parse_value(kind: str, text: str) -> Any:
    """The editor's text as the value ``kind`` takes. ValueError: one sentence saying why."""
    stripped = text.strip()
    if kind in NO_VALUE or (kind in OPTIONAL_VALUE and not stripped):
        return None
    if kind in LIST_TYPES:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if kind in JSON_VALUE:
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as error:
            what = "tools are" if kind == "is-valid-openai-tools-call" else "JSON Schema is"
            raise ValueError(f"{kind}'s {what} not valid JSON: {error.msg} "
                             f"(line {error.lineno}, column {error.colno})") from None
    if kind in NUMBER_TYPES or kind in ("latency", "tokens-per-second"):
        return number_or_text(stripped)
    return text


def number_or_text(text: str) -> Any:
    """"12" → 12, "1.5" → 1.5; anything else stays text (validation then names the type)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_threshold(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, not '{text.strip()}'") from None


def threshold_text(threshold: float | None) -> str:
    return "" if threshold is None else f"{threshold:g}"


@dataclass
class AssertionRow:
    """The widgets of one row (tests type into them as a user would)."""

    type: QComboBox
    negate: QCheckBox
    value: QPlainTextEdit
    weight: QDoubleSpinBox
    threshold: QLineEdit
    provider: QComboBox
    metric: str | None = None  # the name it is reported under: kept, not edited here
    assertions: tuple[Assertion, ...] = ()  # an assert-set's own: kept, not edited here
    transform: str | None = None  # its JavaScript transform (a suite's): kept, not edited here


class AssertionsEditor(QWidget):
    """A table of assertions with Add and Remove."""

    def __init__(self, judge_choices: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.judge_choices = list(judge_choices)
        self.rows: list[AssertionRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.Interactive)):
            header.setSectionResizeMode(column, mode)
        header.resizeSection(COLUMNS.index("judge"), 170)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add assertion")
        self.remove_button = QPushButton("Remove")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self.add_row())
        self.remove_button.clicked.connect(lambda: self.remove_selected())

    def set_assertions(self, assertions) -> None:
        self.table.setRowCount(0)
        self.rows.clear()
        for assertion in assertions:
            self.add_row(assertion)

    def add_row(self, assertion: Assertion | None = None) -> AssertionRow:
        """A new row (``contains`` unless given), ready to type its value into."""
        assertion = assertion or Assertion("contains")
        row = self.table.rowCount()
        self.table.insertRow(row)
        kind = QComboBox()
        for name, meaning in ASSERTION_TYPES.items():
            kind.addItem(name)
            kind.setItemData(kind.count() - 1, meaning, Qt.ItemDataRole.ToolTipRole)
        kind.setCurrentText(assertion.type)
        negate = QCheckBox("not")
        negate.setChecked(assertion.negate)
        value = QPlainTextEdit(value_text(assertion.value))
        value.setTabChangesFocus(True)
        weight = QDoubleSpinBox(minimum=0.0, maximum=1000.0, singleStep=0.5, decimals=2)
        weight.setValue(assertion.weight)
        weight.setToolTip("0: reported, but not counted towards the case's score")
        threshold = QLineEdit(threshold_text(assertion.threshold), placeholderText="none")
        threshold.setMaximumWidth(80)
        provider = QComboBox(editable=True)
        provider.addItems(["", *self.judge_choices])
        provider.setCurrentText(assertion.provider or "")
        provider.lineEdit().setPlaceholderText("the set's judge")
        widgets = AssertionRow(kind, negate, value, weight, threshold, provider, assertion.metric,
                               assertion.assertions, assertion.transform)
        for column, widget in enumerate((kind, negate, value, weight, threshold, provider)):
            if widget is not value:  # one line tall, at the top of the row beside the value
                widget.setMaximumHeight(widget.sizeHint().height())
            self.table.setCellWidget(row, column, widget)
        kind.currentTextChanged.connect(lambda _text, w=widgets: self._explain(w))
        self._explain(widgets)
        self.rows.append(widgets)
        self.table.setCurrentCell(row, COLUMNS.index("value"))
        return widgets

    def remove_selected(self) -> None:
        chosen = sorted({i.row() for i in self.table.selectedIndexes()}
                        | ({self.table.currentRow()} if self.table.currentRow() >= 0 else set()),
                        reverse=True)
        for row in chosen:
            if 0 <= row < len(self.rows):
                self.table.removeRow(row)
                del self.rows[row]

    @staticmethod
    def _explain(widgets: AssertionRow) -> None:
        """The value box says what the chosen type expects."""
        kind = widgets.type.currentText()
        meaning = ASSERTION_TYPES.get(kind, "")
        widgets.value.setPlaceholderText(meaning + (" — one per line" if kind in LIST_TYPES
                                                    else ""))
        widgets.value.setToolTip(meaning)
        widgets.value.setEnabled(kind not in NO_VALUE)
        # the judge of a model-graded type; the embedding model of similar
        widgets.provider.setEnabled(kind in MODEL_GRADED or kind.startswith("similar"))

    def assertions(self, where: str, judge: str | None) -> tuple[list[Assertion], list[str]]:
        """The rows as assertions, and one sentence per row that cannot run."""
        found, problems = [], []
        for number, widgets in enumerate(self.rows, 1):
            prefix = f"{where}, row {number}"
            kind = widgets.type.currentText()
            try:
                assertion = Assertion(
                    kind, value=parse_value(kind, widgets.value.toPlainText()),
                    negate=widgets.negate.isChecked(), weight=widgets.weight.value(),
                    threshold=parse_threshold(widgets.threshold.text(), "the threshold"),
                    provider=widgets.provider.currentText().strip() or None,
                    metric=widgets.metric,
                    assertions=widgets.assertions if kind == "assert-set" else (),
                    transform=widgets.transform)
            except ValueError as error:
                problems.append(f"{prefix}: {error}")
                continue
            problem = assertion_problem(assertion)
            if problem is None and assertion.model_graded and not (assertion.provider or judge):
                problem = (f"{assertion.name} needs a judge model: choose one in its judge "
                           "column or on the “Every case” tab")
            if problem:
                problems.append(f"{prefix}: {problem}")
            else:
                found.append(assertion)
        return found, problems


class AssertionsDialog(QDialog):
    """One case's assertions (first tab) and the set's shared ones with its judge (second).
    After ``accept``: ``checks`` and ``set_checks`` hold what was entered."""

    def __init__(self, checks: CaseChecks | None, set_checks: SetChecks,
                 judge_choices: list[str], case_name: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Assertions — {case_name}" if case_name else "Assertions")
        self.resize(820, 460)
        self.checks = checks
        self.set_checks = set_checks
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)

        case_page = QWidget()
        case_layout = QVBoxLayout(case_page)
        self.case_editor = AssertionsEditor(judge_choices)
        self.case_editor.set_assertions(checks.assertions if checks else ())
        case_layout.addWidget(self.case_editor, 1)
        case_form = QFormLayout()
        self.description = QLineEdit(checks.description if checks else "",
                                     placeholderText="what this case tests (optional)")
        self.case_threshold = QLineEdit(threshold_text(checks.threshold if checks else None),
                                        placeholderText="none: every assertion must pass")
        case_form.addRow("Description", self.description)
        case_form.addRow("Pass when the score reaches", self.case_threshold)
        case_layout.addLayout(case_form)
        self.tabs.addTab(case_page, "This case")
        self.tabs.setTabEnabled(0, checks is not None)  # no row chosen: only the shared part

        shared_page = QWidget()
        shared_layout = QVBoxLayout(shared_page)
        self.shared_editor = AssertionsEditor(judge_choices)
        self.shared_editor.set_assertions(set_checks.default_assertions)
        shared_layout.addWidget(self.shared_editor, 1)
        shared_form = QFormLayout()
        self.default_threshold = QLineEdit(threshold_text(set_checks.default_threshold),
                                           placeholderText="none: every assertion must pass")
        self.judge = QComboBox(editable=True)
        self.judge.addItems(["", *judge_choices])
        self.judge.setCurrentText(set_checks.judge or "")
        self.judge.lineEdit().setPlaceholderText(
            "a library model, or a remote reference such as openai+http://host:8000/v1")
        shared_form.addRow("Pass when the score reaches", self.default_threshold)
        shared_form.addRow("Judge model", self.judge)
        shared_layout.addLayout(shared_form)
        self.tabs.addTab(shared_page, "Every case")
        if checks is None:
            self.tabs.setCurrentIndex(1)

        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color:#c62828")
        self.problem.hide()
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def accept(self) -> None:
        """Keep the dialog open, the problems shown, while anything cannot run."""
        problems = []
        judge = self.judge.currentText().strip() or None
        try:
            default_threshold = parse_threshold(self.default_threshold.text(),
                                                "Every case: the pass threshold")
        except ValueError as error:
            problems.append(str(error))
            default_threshold = None
        shared, shared_problems = self.shared_editor.assertions("Every case", judge)
        problems += shared_problems
        checks = None
        if self.checks is not None:
            own, own_problems = self.case_editor.assertions("This case", judge)
            problems += own_problems
            try:
                threshold = parse_threshold(self.case_threshold.text(),
                                            "This case: the pass threshold")
            except ValueError as error:
                problems.append(str(error))
                threshold = None
            checks = CaseChecks(tuple(own), threshold, self.description.text().strip())
        if problems:
            self.problem.setText("\n".join(problems))
            self.problem.show()
            return
        self.problem.hide()
        self.checks = checks
        self.set_checks = SetChecks(tuple(shared), default_threshold, judge)
        super().accept()

