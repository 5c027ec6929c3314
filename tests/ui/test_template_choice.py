"""The model bar's "Template…" button: say which template a model uses, let the user change it.

Gemma 3 270M carries no template; the bar says the built-in Gemma one is used, and a template
the user pastes (a bad one refused with its line) is used on the next load.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from tests.ui.conftest import make_window
from workbench.core.chat_template import TemplateChoice

MINE = "{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}{% endfor %}"


def click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def open_dialog(qtbot, picker):
    click(qtbot, picker.template_button)
    dialog = picker.template_dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def pick(qtbot, dialog, text):
    dialog.kind.setFocus()
    qtbot.keyClicks(dialog.kind, text)  # a closed combo box jumps to the item typed
    assert dialog.kind.currentText().startswith(text)


def press_ok(qtbot, dialog):
    click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))


def test_the_bar_names_the_template_and_the_dialog_changes_it(qtbot, app_services, gemma_model):
    window = make_window(qtbot, app_services, model=str(gemma_model))
    picker = window.picker
    assert "template: built-in gemma — the file has none" in picker.state.text()
    # The composer's preview says it too, where the rendered text is.
    assert "Chat template: built-in gemma — the file has none" in \
        window.composer.template_note.text()

    dialog = open_dialog(qtbot, picker)
    assert "the file has none" in dialog.note.text()
    pick(qtbot, dialog, "Your own")
    qtbot.keyClicks(dialog.jinja, "{{ messages }")
    press_ok(qtbot, dialog)
    assert dialog.isVisible() and "line 1" in dialog.problem.text()  # refused, kept open
    assert app_services.models.template_choice(str(gemma_model)) is None

    dialog.jinja.clear()
    dialog.jinja.setPlainText(MINE)  # pasted
    with qtbot.waitSignal(window.models.loaded, timeout=60_000) as loaded:
        press_ok(qtbot, dialog)
    meta = loaded.args[0]
    assert meta.chat_template_source == "user" and meta.chat_template == MINE
    assert "template: yours" in picker.state.text()
    assert app_services.models.template_choice(str(gemma_model)) == TemplateChoice(jinja=MINE)
    assert len([h for h in app_services.models.loaded()
                if h.settings.path == meta.path or h.metadata.path == meta.path]) == 1

    dialog = open_dialog(qtbot, picker)
    assert dialog.kind.currentText().startswith("Your own") and dialog.jinja.toPlainText() == MINE
    pick(qtbot, dialog, "The file")
    with qtbot.waitSignal(window.models.loaded, timeout=60_000) as loaded:
        press_ok(qtbot, dialog)
    assert loaded.args[0].chat_template_source == "built-in gemma"
    assert "template: built-in gemma — the file has none" in picker.state.text()
    assert app_services.models.template_choice(str(gemma_model)) is None
    window.close()
