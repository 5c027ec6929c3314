"""The LoRA tune wizard: base model → data → settings → training → export & compare.

Every slow call (reading a model's header, tokenizing the data, starting the trainer) runs in
a BackgroundCall; trainer events reach the widgets through queued signals. The wizard holds no
logic of its own beyond binding widgets to TuningService; its pages are in tune_pages.py.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QWizard,
)

from ...services.tuning import Imported, TuneConfig, TuningService
from ..job_bridges import BackgroundCall, run_in_background
from .tune_pages import BasePage, DataPage, ExportPage, SettingsPage, TrainPage


class TuneWizard(QWizard):
    # Compare pressed: the Tune menu (tune_menu.py) runs base vs adapter in a session of its own.
    compare_requested = Signal()

    def __init__(self, service: TuningService, session_id: str | None = None, parent=None):
        super().__init__(parent)
        self.service = service
        self.session_id = session_id
        self.base = None
        self.imported = Imported()
        self.plan = None
        self.run = None
        self.job = None
        self.setWindowTitle("Tune a LoRA adapter")
        self.base_page, self.data_page = BasePage(self), DataPage(self)
        self.settings_page, self.train_page = SettingsPage(self), TrainPage(self)
        self.export_page = ExportPage(self)
        for page in (self.base_page, self.data_page, self.settings_page, self.train_page,
                     self.export_page):
            self.addPage(page)

    def background(self, fn, on_success, on_failure) -> BackgroundCall:
        return run_in_background(fn, self, on_success, on_failure)

    def config(self) -> TuneConfig:
        return TuneConfig(base_model=self.base.path if self.base else "",
                          name=self.settings_page.name.text().strip(),
                          preset=self.settings_page.preset.currentText(),
                          settings=self.settings_page.settings(),
                          merge=self.settings_page.merge.isChecked(),
                          session_id=self.session_id,
                          where=self.settings_page.where.where())

    def resume_from(self, job) -> None:
        """Open on the training page of a stopped job: Start continues from its checkpoint."""
        self.job = job
        self.setStartId(self.pageIds()[3])
        self.train_page.offer_resume(job)

    def held_out(self) -> list[tuple[str, str]]:
        """(question, answer) of each validation example: cases the adapter never saw."""
        if self.plan is None:
            return []
        by_place = {(e.source, e.line): e for e in self.imported.examples}
        pairs = []
        for row in self.plan.val:
            example = by_place.get((row.source, row.line))
            users = [m.content for m in example.messages if m.role == "user"] if example else []
            answers = [m.content for m in example.messages if m.role == "assistant"] \
                if example else []
            if users and answers:
                pairs.append((users[-1], answers[-1]))
        return pairs

    def done(self, result: int) -> None:
        if self.run is not None and not self.run.done.is_set():
            self.run.cancel()  # closing the wizard stops the trainer with a checkpoint
        super().done(result)
