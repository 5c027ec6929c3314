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
        self.improve_action = menu.addAction("Improve…")
        self.improve_action.triggered.connect(lambda _checked=False: self.open_improve())
        window.improve_button.setToolTip("Search for a better version of the composer's "
                                         "prompt against the checked test cases, with "
                                         "held-out evidence (Experiments ▸ Improve…)")
        window.improve_button.clicked.connect(lambda: self.improve_action.trigger())
        self._improve_service = None
        self.improve_offer = None  # the banner offering to resume an interrupted improve job

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

    def open_improve(self):
        """One dialog per window, kept when closed: a search goes on while it is hidden."""
        from ..improve.improve_dialog import ImproveDialog

        dialog = self.dialogs.get("improve")
        if dialog is None:
            dialog = self.dialogs["improve"] = ImproveDialog(self.window)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def session_opened(self, session_id: str) -> None:
        """Offer to resume the session's interrupted (or cancelled) improve job."""
        if self.improve_offer is None:
            from ..improve.resume_offer import ResumeOffer

            self.improve_offer = ResumeOffer(self._improve)
            self.window.banner_overlay.add(self.improve_offer)
            self.improve_offer.resume_requested.connect(
                lambda job_id: self.open_improve().resume(job_id))
        self.improve_offer.check(session_id)

    def _improve(self):
        from ...services.improve import ImproveService

        if self._improve_service is None:
            self._improve_service = ImproveService(self.window.services.evaluation)
        return self._improve_service
