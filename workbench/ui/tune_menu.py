"""The window's Tune menu: start the LoRA wizard, resume a stopped job, compare the result."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..core.composition import template_variables
from ..core.errors import WorkbenchError


class TuneMenu(QObject):
    def __init__(self, window, menu):
        super().__init__(window)
        self.window = window
        self.tuning = window.services.tuning
        self.wizard = None
        menu.addAction("Tune a LoRA adapter…", lambda: self.open_wizard())
        self.resume_menu = menu.addMenu("Resume a tune job")
        self.resume_menu.aboutToShow.connect(self.fill_resume_menu)

    def fill_resume_menu(self) -> None:
        self.resume_menu.clear()
        jobs = self.tuning.resumable()
        for job in jobs:
            name = job.config.get("name") or job.id[:8]
            self.resume_menu.addAction(f"{name} ({job.status}, {job.created_at:%Y-%m-%d %H:%M})",
                                       lambda j=job: self.open_wizard(j))
        if not jobs:
            self.resume_menu.addAction("No stopped tune jobs").setEnabled(False)

    def open_wizard(self, job=None):
        """Not modal: training takes minutes, and the rest of the window stays usable."""
        from .tune_wizard import TuneWizard

        workspace = self.window.workspace
        wizard = TuneWizard(self.tuning, workspace.session.id if workspace else None,
                            self.window)
        if job is not None:
            wizard.resume_from(job)
        wizard.compare_requested.connect(lambda: self.compare(wizard.job, wizard.held_out()))
        wizard.show()
        self.wizard = wizard
        return wizard

    def compare(self, job, held_out: list[tuple[str, str]] = ()) -> None:
        """Base vs. tuned: the variants become base, adapter ×1 and ×0.5, then they run, over
        the held-out examples when the prompt can take them."""
        window = self.window
        if window.compare.running:
            window.banner.show_message("A comparison is running: stop it or let it finish, "
                                       "then press Compare again.", "info")
            return
        if held_out:
            self.add_cases(held_out)
        try:
            specs = self.tuning.variant_specs(job.id, window.workspace.latest)
        except WorkbenchError as error:
            window.banner.show_message(str(error))
            return
        known = window.services.models.list_models()
        names = {str(m.path): m.name for m in known}
        window.refresh_models(known)  # the new adapter joins the variants' adapter lists
        variants = window.compare.variants
        variants.clear()
        for spec in specs:
            variants.add_variant(spec.label, model=names.get(spec.model, spec.model),
                                 adapter=spec.adapter_path, adapter_scale=spec.adapter_scale,
                                 temperature=0.0, seed=0)
        window.tabs.setCurrentIndex(0)
        window.raise_()
        window.run_comparison()

    def add_cases(self, pairs: list[tuple[str, str]]) -> None:
        """Held-out examples become test cases (question → the template's one variable,
        the answer as expected output); a prompt with several variables is left alone."""
        composer = self.window.composer
        template = composer.template_edit.toPlainText()
        if not template.strip():
            composer.template_edit.setPlainText("{{ input }}")
            template = "{{ input }}"
        names = template_variables(template)
        if len(names) != 1:
            self.window.banner.show_message(
                f"The {len(pairs)} held-out examples were not added as test cases: the user "
                "template has more than one variable.", "info")
            return
        rows = [row for row in composer.cases.rows() if any(row[0].values())]
        known = {row[0].get(names[0]) for row in rows}
        rows += [({names[0]: q}, a) for q, a in pairs if q not in known]
        composer.set_cases(rows)
