"""The window's Tune menu: start the LoRA wizard, resume a stopped job, compare the result."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ...core.errors import WorkbenchError
from ...core.prompts import PromptVersion
from ...core.session_variants import SessionVariant

# The comparison's prompt: each held-out question reaches the model as it is (inside the
# model's own chat template), with no system prompt or wrapping of the user's session.
PASS_THROUGH_VARIABLE = "input"
PASS_THROUGH = "{{ input }}"


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
        wizard.compare_requested.connect(
            lambda: self.compare(wizard.job, wizard.held_out(), wizard))
        wizard.show()
        self.wizard = wizard
        return wizard

    def compare(self, job, held_out: list[tuple[str, str]] = (), wizard=None) -> None:
        """Base vs. tuned in a session of its own, named after the adapter: a template that
        passes each held-out question through as it is, the held-out examples as cases with
        their answers expected, and the variants base, adapter ×1 and ×0.5; then it runs.
        The session the user was working in keeps its prompt, cases and variants."""
        window = self.window
        if window.compare.running:
            window.banner.show_message("A comparison is running: stop it or let it finish, "
                                       "then press Compare again.", "info")
            return
        try:  # checked before anything is created: a failure leaves no empty session behind
            specs = self.tuning.variant_specs(job.id, PromptVersion("", user_template=PASS_THROUGH))
        except WorkbenchError as error:
            window.banner.show_message(str(error))
            return
        known = window.services.models.list_models()
        names = {str(m.path): m.name for m in known}
        window.refresh_models(known)  # the new adapter joins the variants' adapter lists
        variants = [SessionVariant(spec.label, model=names.get(spec.model, spec.model),
                                   adapter=spec.adapter_path, adapter_scale=spec.adapter_scale,
                                   temperature=0.0, seed=0) for spec in specs]
        name = job.config.get("name") or "adapter"
        try:
            workspace = window.workspace_service.create_prepared_session(
                f"{name}: base vs. adapter", user_template=PASS_THROUGH,
                cases=[({PASS_THROUGH_VARIABLE: q}, a) for q, a in held_out],
                variants=variants, note=f"held-out examples of tune job {job.id[:8]}")
        except WorkbenchError as error:
            window.banner.show_message(str(error))
            return
        window.sessions_panel.refresh(workspace.session.id)
        window.open_session(workspace.session.id)
        window.tabs.setCurrentIndex(0)
        if not held_out:
            window.banner.show_message(
                f"Session '{workspace.session.name}' is ready, but the tune job has no held-out "
                "examples to compare on: add test cases and press Run.", "info")
        else:
            window.run_comparison()
        if wizard is not None and wizard.isVisible():
            wizard.raise_()  # it stays in front: the user may compare again or close it
            wizard.activateWindow()
