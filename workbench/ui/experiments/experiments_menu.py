"""The window's Experiments menu: each entry opens its wizard (not modal: experiments take
minutes, and the rest of the window stays usable)."""

from __future__ import annotations

from PySide6.QtCore import QObject


class ExperimentsMenu(QObject):
    def __init__(self, window, menu):
        super().__init__(window)
        self.window = window
        self.dialogs: dict[str, object] = {}
        self.fewshot_action = menu.addAction("Few-shot vs fine-tune…")
        self.fewshot_action.triggered.connect(lambda _checked=False: self.open_fewshot())
        self.quantlab_action = menu.addAction("Quantization lab…")
        self.quantlab_action.triggered.connect(lambda _checked=False: self.open_quantlab())

    def _show(self, key: str, make):
        dialog = self.dialogs.get(key)
        if dialog is None or not dialog.isVisible():
            dialog = make()
            self.dialogs[key] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def open_fewshot(self):
        from .fewshot_dialog import FewShotDialog

        return self._show("fewshot", lambda: FewShotDialog(self.window))

    def open_quantlab(self):
        from .quantlab_dialog import QuantLabDialog

        return self._show("quantlab", lambda: QuantLabDialog(self.window))
