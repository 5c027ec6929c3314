"""A small dialog to choose a model file's chat template: its own, a built-in, or pasted Jinja.

The choice is only checked here (a compile, milliseconds); keeping it and reloading the model
happen in the model controller's background job.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
)

from ...core.chat_template import CHOOSABLE_TEMPLATES, ChatTemplateError, TemplateChoice

AUTOMATIC, YOURS = "The file's own (else llama.cpp's built-in)", "Your own Jinja template"


class TemplateDialog(QDialog):
    def __init__(self, model: str, current: TemplateChoice | None, note: str = "",
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Chat template — {model}")
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        self.note = QLabel(note)  # what the loaded model uses now, and why
        self.note.setVisible(bool(note))
        layout.addWidget(self.note)
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItems([AUTOMATIC, *(f"Built-in: {name}" for name in CHOOSABLE_TEMPLATES),
                            YOURS])
        form.addRow("Template:", self.kind)
        layout.addLayout(form)
        self.jinja = QPlainTextEdit()
        self.jinja.setPlaceholderText(
            "{% for message in messages %}…{% endfor %}\n"
            "Variables: messages (role, content), add_generation_prompt, bos_token, eos_token")
        layout.addWidget(self.jinja)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020")
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.buttons = buttons
        self.kind.currentTextChanged.connect(self._kind_changed)
        if current is not None and current.jinja is not None:
            self.jinja.setPlainText(current.jinja)
            self.kind.setCurrentText(YOURS)
        elif current is not None:
            self.kind.setCurrentText(f"Built-in: {current.name}")
        self._kind_changed(self.kind.currentText())

    def _kind_changed(self, text: str) -> None:
        self.jinja.setEnabled(text == YOURS)
        self.problem.clear()

    def choice(self) -> TemplateChoice | None:
        """What the user picked (None: the file's own); ChatTemplateError if it is bad."""
        text = self.kind.currentText()
        if text == AUTOMATIC:
            return None
        if text == YOURS:
            choice = TemplateChoice(jinja=self.jinja.toPlainText())
        else:
            choice = TemplateChoice(name=text.removeprefix("Built-in: "))
        choice.check()
        return choice

    def _accept_if_valid(self) -> None:
        try:
            self.choice()
        except ChatTemplateError as error:
            self.problem.setText(str(error))  # the dialog stays open to fix it
            return
        self.accept()
