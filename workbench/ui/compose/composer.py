"""The composer: system prompt, few-shot examples, user template, test cases, live preview.

Token counts and the rendered preview come from the loaded model (its own tokenizer and chat
template) in the background, a moment after typing stops.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.chat_template import describe_source
from ...core.composition import template_variables
from ...core.errors import WorkbenchError
from ...core.prompts import FewShotExample, PromptVersion, templated_examples
from ...core.retrieval import RetrievalSettings
from ...core.tabular import example_pairs, read_table
from ...services.context import ContextBudget, measure
from ..banner import Banner
from ..job_bridges import BackgroundCall
from ..model_controller import ModelController
from .cases_table import CasesTable
from .context_bar import ContextBar
from .examples_table import ExamplesTable
from .preview import NO_MODEL, NO_PROMPT, PromptPreview, failed_reason, no_case_reason
from .prompt_tokens import PromptTokensPanel
from .retrieval_section import RetrievalSection

MEASURE_DELAY_MS = 250


def _editor(placeholder: str, height: int | None = None) -> QPlainTextEdit:
    editor = QPlainTextEdit()
    editor.setPlaceholderText(placeholder)
    if height:
        editor.setMinimumHeight(height)
    return editor


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(widget)
    return box


class ComposerPanel(QWidget):
    edited = Signal()  # anything the user typed (drives autosave)
    budget_ready = Signal(object)  # ContextBudget, or None when it could not be measured

    def __init__(self, models: ModelController, parent: QWidget | None = None):
        super().__init__(parent)
        self.models = models
        self.budget: ContextBudget | None = None
        self.case_context = None  # the selected case's CaseContext as last measured
        self._measuring = False
        self._again = False
        self._loading = False
        self._build()
        self._timer = QTimer(self, singleShot=True, interval=MEASURE_DELAY_MS)
        self._timer.timeout.connect(self.measure_now)
        models.loaded.connect(lambda _meta: self.schedule_measure())
        models.loaded.connect(self._show_template)

    def _show_template(self, meta) -> None:
        """A file without a chat template is rendered with a built-in one: say so where the
        rendered text is, in a warning colour, so nobody mistakes it for the file's."""
        source = describe_source(meta.chat_template_source, meta.file_has_chat_template,
                                 meta.architecture)
        self.template_note.setText(f"Chat template: {source}")
        self.template_note.setStyleSheet("" if meta.file_has_chat_template
                                         else "color:#e65100; font-weight:bold")

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.system_edit = _editor("System prompt: who the model is and how it answers", 60)
        self.examples = ExamplesTable()
        self.template_edit = _editor("User template, e.g.  Translate to French: {{ text }}", 50)
        self.cases = CasesTable()
        self.preview = PromptPreview()
        self.retrieval = RetrievalSection()
        self.tokens = PromptTokensPanel(self.models,
                                        lambda: (self.as_version(), self.preview_variables()))
        self.received = QTabWidget()  # the rendered text, or the same text as tokens
        self.received.setObjectName("composer-received")
        self.received.addTab(self.preview, "Text")
        self.received.addTab(self.tokens, "Tokens")
        self.context_bar = ContextBar()
        answer_row = QHBoxLayout()
        answer_row.addWidget(QLabel("Answer tokens:"))
        self.answer_tokens = QSpinBox(minimum=1, maximum=32768, value=256)
        answer_row.addWidget(self.answer_tokens)
        answer_row.addStretch(1)

        editors = QSplitter(Qt.Orientation.Vertical)
        editors.addWidget(_group("System prompt", self.system_edit))
        editors.addWidget(_group("Few-shot examples", self.examples))
        editors.addWidget(_group("User template", self.template_edit))
        editors.addWidget(_group("Test cases", self.cases))
        preview_box = QWidget()
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        self.template_note = QLabel()  # which chat template renders the preview, and why
        self.template_note.setWordWrap(True)
        preview_layout.addWidget(self.template_note)
        preview_layout.addWidget(self.retrieval)
        preview_layout.addWidget(_group("What the model receives (selected case)", self.received),
                                 1)
        preview_layout.addWidget(self.context_bar)
        preview_layout.addLayout(answer_row)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("composer-splitter")
        self.splitter.addWidget(editors)
        self.splitter.addWidget(preview_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.editors_splitter = editors
        editors.setObjectName("composer-editors")
        layout.addWidget(self.splitter, 1)

        self.system_edit.textChanged.connect(self._on_edit)
        self.template_edit.textChanged.connect(self._on_template_edit)
        self.examples.changed.connect(self._on_edit)
        self.cases.changed.connect(self._on_edit)
        self.cases.table.currentCellChanged.connect(lambda *_: self.schedule_measure())
        self.answer_tokens.valueChanged.connect(lambda _v: self.schedule_measure())
        self.retrieval.changed.connect(self._on_edit)
        # The Tokens tab draws the measured prompt: the tokens the budget bar counts.
        self.budget_ready.connect(self.tokens.show_budget)
        self.preview.reason_shown.connect(self.tokens.show_reason)
        self.retrieval.active_changed.connect(self.cases.set_filled_by_retrieval)
        self.retrieval.retry_wanted.connect(self.schedule_measure)
        self.examples.import_button.clicked.connect(self.import_examples)
        self.cases.import_button.clicked.connect(self.import_cases)

    # -- content -------------------------------------------------------------------------

    def content(self) -> tuple[str, list[FewShotExample], str]:
        return (self.system_edit.toPlainText(), self.examples.examples(),
                self.template_edit.toPlainText())

    def as_version(self, prompt_id: str = "unsaved") -> PromptVersion:
        system, examples, template = self.content()
        return PromptVersion(prompt_id, system, tuple(examples), template)

    def set_version(self, version: PromptVersion | None) -> None:
        self._loading = True
        self.system_edit.setPlainText(version.system_prompt if version else "")
        self.template_edit.setPlainText(version.user_template if version else "")
        self.examples.set_template(self.template_edit.toPlainText())
        self.examples.set_examples(list(version.examples) if version else [])
        self._loading = False
        self.schedule_measure()

    def set_cases(self, rows: list[tuple[dict[str, str], str | None]]) -> None:
        self._loading = True
        names = template_variables(self.template_edit.toPlainText())
        for variables, _ in rows:
            names += [n for n in variables if n not in names]
        self.cases.set_variables(names)
        self.cases.set_rows(rows)
        self._loading = False

    def to_draft(self) -> dict:
        system, examples, template = self.content()
        return {"system": system, "examples": [e.to_dict() for e in examples],
                "template": template,
                "cases": [{"variables": v, "expected": e} for v, e in self.cases.rows()],
                "retrieval": self.retrieval.settings().to_dict()}

    def from_draft(self, draft: dict) -> None:
        self.set_version(PromptVersion(
            "draft", draft.get("system", ""),
            tuple(FewShotExample.from_dict(e) for e in draft.get("examples", [])),
            draft.get("template", "")))
        self.set_cases([(c.get("variables", {}), c.get("expected"))
                        for c in draft.get("cases", [])])
        self.retrieval.set_settings(RetrievalSettings.from_dict(draft.get("retrieval")))

    def selected_variables(self) -> dict[str, str]:
        rows = self.cases.rows()
        return rows[min(self.cases.current_row(), len(rows) - 1)][0] if rows else {}

    def preview_variables(self) -> dict[str, str]:
        """The selected case as the preview shows it: with its retrieved {{ context }}."""
        variables, context = self.selected_variables(), self.case_context
        if context is not None and all(context.variables.get(k) == v
                                       for k, v in variables.items() if k != "context"):
            return dict(context.variables)
        return {**variables, "context": variables.get("context", "")}

    # -- imports: through the importer plugins (set_importers), the built-in tables first --

    read_table = staticmethod(read_table)  # until the window hands over the plugins' importers
    table_filter = "Tables (*.csv *.tsv *.jsonl *.json)"

    def set_importers(self, read_table, suffixes: list[str]) -> None:
        """``read_table(path) -> Rows`` from the plugins (PluginManager.read_table), and the
        suffixes their importers read (for the file dialog)."""
        self.read_table = read_table
        self.table_filter = "Tables (" + " ".join(f"*{s}" for s in suffixes) + ")"

    def import_examples(self, path: str | None = None) -> None:
        path = path or QFileDialog.getOpenFileName(self, "Import examples", "",
                                                   self.table_filter)[0]
        if not path:
            return
        try:
            examples, problems = self._examples_from(self.read_table(path))
        except WorkbenchError as error:
            self.banner.show_message(str(error))
            return
        for example in examples:
            self.examples.add_example(example)
        self._report(len(examples), "examples", path, problems)

    def _examples_from(self, rows) -> tuple[list[FewShotExample], list]:
        # A file naming the template's variables fills them; an input/output file gives raw
        # examples, which the table moves into the first variable when it is templated.
        names = self.examples.variables if self.examples.templated else []
        if set(names) & set(rows.columns):
            return templated_examples(rows, names)
        pairs, problems = example_pairs(rows)
        return [FewShotExample(source, target) for source, target in pairs], problems

    def import_cases(self, path: str | None = None) -> None:
        path = path or QFileDialog.getOpenFileName(self, "Import test cases", "",
                                                   self.table_filter)[0]
        if not path:
            return
        try:
            rows = self.read_table(path)
        except WorkbenchError as error:
            self.banner.show_message(str(error))
            return
        self.cases.add_rows(rows)
        self._report(len(rows.rows), "test cases", path, rows.problems)

    def _report(self, count: int, what: str, path: str, problems) -> None:
        if problems:
            listed = "; ".join(f"line {p.line}: {p.reason}" for p in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            self.banner.show_message(f"Imported {count} {what} from {path}; left out "
                                     f"{len(problems)}: {listed}{more}.", "error")
        else:
            self.banner.show_message(f"Imported {count} {what} from {path}.", "info")

    # -- live counting -------------------------------------------------------------------

    def _on_template_edit(self) -> None:
        template = self.template_edit.toPlainText()
        self.examples.set_template(template)  # examples take the same variable columns
        names = template_variables(template)
        keep = [n for n in self.cases.variables if n in names or self._column_has_values(n)]
        self.cases.set_variables(names + [n for n in keep if n not in names])
        self._on_edit()

    def _column_has_values(self, name: str) -> bool:
        return any(v.get(name) for v, _ in self.cases.rows())

    def _on_edit(self) -> None:
        if not self._loading:
            self.edited.emit()
        self.schedule_measure()

    def schedule_measure(self) -> None:
        self._timer.start()
        self.tokens.schedule()

    def measure_now(self) -> None:
        host = self.models.host
        if host is None:
            self.preview.show_reason(NO_MODEL)
            self.context_bar.show_message("Load a model to count tokens.")
            return
        if self._measuring:
            self._again = True
            return
        version = self.as_version()
        if not (version.system_prompt or version.examples or version.user_template):
            self.preview.show_reason(NO_PROMPT)
            self.context_bar.show_message("Write a prompt to see what the model receives.")
            return
        unfilled = self._unfilled_without_cases(version.user_template)
        if unfilled:
            self.preview.show_reason(no_case_reason(unfilled))
            self.context_bar.show_message(no_case_reason(unfilled))
            return
        self._measuring = True
        variables = self.selected_variables()
        max_tokens = self.answer_tokens.value()
        fetch = self.retrieval.fetcher()

        def work():
            context = fetch(variables, version.user_template)  # searched off the GUI thread
            return measure(host, version, context.variables, max_tokens, context), context

        job = BackgroundCall(work, self)
        job.succeeded.connect(self._on_measured)
        job.failed.connect(self._on_measure_failed)
        job.start()

    def _unfilled_without_cases(self, template: str) -> list[str]:
        """With no test case at all, the template's variables nothing can fill ({{ context }}
        is filled by retrieval, or left empty)."""
        if self.cases.rows():
            return []
        return [name for name in template_variables(template) if name != "context"]

    def _on_measured(self, result) -> None:
        budget, self.case_context = result
        self.retrieval.show_result(self.case_context)
        self.budget = budget
        self.preview.show_text(budget.rendered)
        self.context_bar.show_budget(budget)
        self._measure_done()
        self.budget_ready.emit(budget)

    def _on_measure_failed(self, message: str) -> None:
        self.budget = None
        if message.startswith("Retrieval"):
            self.retrieval.show_result(None, message)
        self.preview.show_reason(failed_reason(message))
        self.context_bar.show_message(message, error=True)
        self._measure_done()
        self.budget_ready.emit(None)

    def _measure_done(self) -> None:
        self._measuring = False
        if self._again:
            self._again = False
            self.schedule_measure()
