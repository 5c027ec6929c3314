"""The main window: sessions, model picker, composer, comparison grid, chat."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import WorkbenchError
from ..core.model_info import human_bytes
from ..core.prompts import PromptVersion
from ..services.compare import VariantSpec
from ..services.library import LibraryService, ModelNames
from ..services.workspace import Workspace
from .app_services import AppServices
from .banner import Banner, BannerOverlay
from .compare.chat_panel import ChatPanel
from .compare.compare_panel import ComparePanel
from .compare.variants_keeper import VariantsKeeper
from .compare.variants_table import CURRENT
from .compose.composer import ComposerPanel
from .elided_label import ElidedLabel
from .evaluate.eval_results import EvalResultsView, EvaluationLoader
from .experiments.experiments_menu import ExperimentsMenu
from .history_panel import HistoryPanel
from .library.library_panel import LibraryPanel
from .library.model_picker import ModelPicker
from .menus import WindowMenus
from .model_controller import ModelController
from .plugins_menu import PluginsMenu
from .retrieval.documents_panel import DocumentsPanel
from .sessions_panel import SessionsPanel
from .tune.tune_menu import TuneMenu
from .window_title import is_unsaved, window_title

WINDOW_TITLE = "Prompt Workbench"
DRAFT_DELAY_MS = 800


class MainWindow(PluginsMenu, QMainWindow):
    def __init__(self, services: AppServices, settings: QSettings):
        super().__init__()
        self.services = services
        self.workspace_service = services.workspace
        self.settings = settings
        self.workspace: Workspace | None = None
        self.model_names = ModelNames()  # the library's, once start() has listed it
        self.models = ModelController(services.models, self)
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(1500, 950)
        self._build()
        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self.composer.edited.connect(self._draft_timer.start)
        self.composer.edited.connect(self.update_title)
        self._status_timer = QTimer(self, interval=1000)
        self._status_timer.timeout.connect(self.update_status)
        self._status_timer.start()
        self.models.failed.connect(lambda message: self.banner.show_message(message))
        self.models.loaded.connect(self._on_model_loaded)
        self.restore_layout()

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        """The window's parts, one idea each, in the order they depend on each other."""
        self._build_toolbar()
        self._build_docks()
        self._build_panels()
        self._build_tabs()
        self._build_central()
        self._build_status_bar()
        self._build_menus()
        self._connect_parts()

    def _build_toolbar(self) -> None:
        """The model bar, and the version note with Save version beside it."""
        toolbar = QToolBar("Model")
        toolbar.setObjectName("model-toolbar")
        self.picker = ModelPicker(self.models)
        toolbar.addWidget(self.picker)
        toolbar.addSeparator()
        self.note_edit = QLineEdit(placeholderText="version note")
        self.note_edit.setMaximumWidth(220)
        self.note_edit.setMinimumWidth(120)  # readable beside a long model state
        self.save_button = QPushButton("Save version")
        toolbar.addWidget(self.note_edit)
        toolbar.addWidget(self.save_button)
        self.improve_button = QPushButton("Improve…")  # the composer's prompt: Experiments menu
        toolbar.addWidget(self.improve_button)
        self.addToolBar(toolbar)

    def _build_docks(self) -> None:
        self.sessions_panel = SessionsPanel(self.workspace_service)
        self.history_panel = HistoryPanel()
        for title, widget, name in (("Sessions", self.sessions_panel, "sessions-dock"),
                                    ("Prompt history", self.history_panel, "history-dock")):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def _build_panels(self) -> None:
        """The composer, the comparison grid, the chat and the model library, wired to
        what each borrows from the others."""
        self.banner = Banner()
        self.plugin_banner = Banner()  # its own strip: model messages must not hide it
        self.composer = ComposerPanel(self.models)
        if self.services.plugins is not None:  # tables are read by the importer plugins
            plugins = self.services.plugins
            self.composer.set_importers(plugins.read_table, sorted(
                {s for _, i in plugins.contributions("register_importers") for s in i.suffixes}))
        self.compare = ComparePanel(self.services.runs, self.workspace_service,
                                    self.services.evaluation)
        self.compare.spec_for = self.compare.history.spec_for
        self.compare.case_set_for = self.save_cases  # Re-check uses the table as it is now
        self.composer.cases.checks_edited.connect(lambda: self.save_cases())
        self.composer.cases.judge_choices = self.picker.references
        self.compare.variants.default_model = self.picker.chosen  # new rows start with it
        self.variants_keeper = VariantsKeeper(self.compare.variants, self.workspace_service,
                                              lambda message: self.banner.show_message(message),
                                              self)
        # The variants' retrieval editors offer the sets the composer lists for the session.
        self.composer.retrieval.sets_listed.connect(self.compare.variants.set_retrieval_sets)
        self.chat = ChatPanel(self.models)
        self.library_panel = LibraryPanel(LibraryService(store=self.services.store))

    def _build_tabs(self) -> None:
        """Compose && compare (composer over grid), Chat, Models, Documents, Evaluation."""
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("main-splitter")
        self.splitter.setChildrenCollapsible(False)  # a drag past a pane's minimum hid it
        # The composer scrolls rather than forcing its ~480 px minimum on the window: the
        # results below get the height the user drags the splitter to.
        composer_scroll = QScrollArea()
        composer_scroll.setWidget(self.composer)
        composer_scroll.setWidgetResizable(True)
        composer_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.splitter.addWidget(composer_scroll)
        self.splitter.addWidget(self.compare)
        # A taller or shorter window changes the results, not the composer the user sized.
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 520])
        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, "Compose && compare")
        self.tabs.addTab(self.chat, "Chat")
        self.tabs.addTab(self.library_panel, "Models")
        self.documents_panel = DocumentsPanel(  # the open session's sets and the global ones
            self.services.retrieval, self.services.models,
            lambda: self.workspace.session.id if self.workspace else None)
        self.tabs.addTab(self.documents_panel, "Documents")
        self.eval_results = EvalResultsView()
        self.tabs.addTab(self.eval_results, "Evaluation")
        # A note ("Imported …") has been read once the user moves on; an error stays.
        self.tabs.currentChanged.connect(
            lambda _index: self.banner.dismiss() if self.banner.kind == "info" else None)

    def _build_central(self) -> None:
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.tabs, 1)
        # Over the tab pages, below the tab bar: a message never moves a control.
        self.banner_overlay = BannerOverlay(self.tabs, self.tabs.tabBar())
        self.banner_overlay.add(self.banner)
        self.banner_overlay.add(self.plugin_banner)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        # Elided, never wider than the window gives: a long model name once widened the
        # window past the screen and pushed the memory readout off it.
        self.models_status = ElidedLabel("No model loaded")
        self.memory_status = QLabel("")
        self.jobs_status = QLabel("")
        self.statusBar().addWidget(self.models_status, 1)
        self.statusBar().addPermanentWidget(self.memory_status)
        self.statusBar().addPermanentWidget(self.jobs_status)

    def _build_menus(self) -> None:
        self.tune = TuneMenu(self, self.menuBar().addMenu("&Tune"))
        self.experiments = ExperimentsMenu(self, self.menuBar().addMenu("E&xperiments"))
        self._build_plugins_menu()
        self.menus = WindowMenus(self)  # File, Edit, View, Help with their keys

    def _connect_parts(self) -> None:
        """What one part does when another changes."""
        self.save_button.clicked.connect(lambda: self.save_version(self.note_edit.text()))
        self.compare.run_button.clicked.connect(self.run_comparison)
        self.sessions_panel.session_chosen.connect(self.open_session)
        self.sessions_panel.create_requested.connect(self.create_session)
        self.history_panel.restore_requested.connect(self.restore_version)
        self.history_panel.fork_requested.connect(self.fork_version)
        self.compare.run_finished.connect(lambda _s: self.refresh_history())
        # The Evaluation tab follows the run the grid shows (computed only while visible).
        self.eval_loader = EvaluationLoader(self.eval_results, self.services.store,
                                            lambda: self.compare.run, self)
        self.compare.run_finished.connect(lambda _s: self.eval_loader.refresh())
        self.compare.checks_done.connect(lambda _run_id: self.eval_loader.refresh())
        self.sessions_panel.session_chosen.connect(lambda _id: self.eval_loader.refresh())
        self.library_panel.model_added.connect(lambda _model: self.refresh_models())
        self.library_panel.models_changed.connect(lambda _models: self.refresh_models())
        self.models.loaded.connect(lambda meta: self.library_panel.show_usage(
            self.models.host, self.model_names.of(meta.path)))

    def _on_model_loaded(self, _meta) -> None:
        if self.banner.kind == "error":  # an earlier load failure no longer applies
            self.banner.hide()

    # -- start and settings --------------------------------------------------------------

    def refresh_models(self, known: list | None = None) -> None:
        """The picker and the variants' model lists follow the library (``known``: a listing
        the caller already made; listing scans folders)."""
        current = self.picker.chosen()
        known = self.services.models.list_models() if known is None else known
        self.model_names = ModelNames(known)  # the one name of each model file
        self.picker.set_models([m.name for m in known], current, self.model_names)
        if self.workspace is not None:
            self.compare.variants.set_choices(self.workspace.history, self._model_choices(),
                                              self._adapter_choices())

    def _model_choices(self) -> list[tuple[str, str]]:
        """(name, what loads it) of each model the bar offers, for the variants' lists."""
        return [(self.model_names.of(r), r) for r in self.picker.references()]

    def _adapter_choices(self) -> list[tuple[str, str]]:
        return [(a.name or a.path, a.path) for a in self.services.tuning.adapters()]

    def start(self, model: str | None = None) -> None:
        known = self.services.models.list_models()
        self.model_names = ModelNames(known)
        self.picker.set_models([m.name for m in known], model, self.model_names)
        self.sessions_panel.refresh()
        last = self.settings.value("last_session")
        known = {s.id for s in self.sessions_panel.sessions}
        if last in known:
            self.open_session(last)
        elif known:
            self.open_session(self.sessions_panel.sessions[0].id)
        else:
            self.create_session("My first session")
        self.picker.load()

    def restore_layout(self) -> None:
        geometry, state = self.settings.value("geometry"), self.settings.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._restore_splitters()

    def _restore_splitters(self) -> None:
        for splitter in self._splitters():
            saved = self.settings.value(f"splitter/{splitter.objectName()}")
            if saved is not None:
                splitter.restoreState(saved)

    def _splitters(self):
        return (self.splitter, self.composer.splitter, self.composer.editors_splitter,
                self.compare.results_splitter)

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        for splitter in self._splitters():
            self.settings.setValue(f"splitter/{splitter.objectName()}", splitter.saveState())
        if self.workspace:
            self.settings.setValue("last_session", self.workspace.session.id)
        self.settings.sync()

    # -- sessions ------------------------------------------------------------------------

    def create_session(self, name: str) -> None:
        workspace = self.workspace_service.create_session(name)
        self.sessions_panel.refresh(workspace.session.id)
        self.open_session(workspace.session.id)

    def open_session(self, session_id: str) -> None:
        if self.workspace and self.workspace.session.id == session_id:
            return
        if self.workspace:
            self.save_draft()
        try:
            workspace = self.workspace_service.open(session_id)
        except WorkbenchError as error:
            self.banner.show_message(str(error))
            return
        self.workspace = workspace
        rows = [(c.variables, c.expected) for c in workspace.case_set.cases]
        self.composer.set_version(workspace.latest)
        self.composer.set_cases(rows)
        self.composer.cases.show_checks(workspace.case_set)  # assertions, before any draft
        saved_cases = self.composer.cases.rows()
        draft = workspace.draft
        if draft and (workspace.latest is None or draft.updated_at > workspace.latest.created_at):
            self.composer.from_draft(draft.content)
            # A draft equal to what is saved restores nothing: say so only when it differs.
            if (is_unsaved(self.composer.content(), workspace.latest)
                    or self.composer.cases.rows() != saved_cases):
                self.banner.show_message(
                    f"Restored unsaved edits from {draft.updated_at:%Y-%m-%d %H:%M}.", "info")
        self.update_title()
        self.refresh_history()
        self.variants_keeper.show(session_id, workspace.variants)  # after the versions are known
        self.composer.retrieval.set_source(self.services.retrieval, session_id)
        self.documents_panel.session_changed()
        self.compare.show_run(workspace.run, list(workspace.case_set.cases), workspace.outputs,
                              workspace.ratings, workspace.preferences)
        self.sessions_panel.refresh(session_id)
        self.experiments.session_opened(session_id)  # offers an interrupted improve job

    def refresh_history(self) -> None:
        if self.workspace is None:
            return
        history = self.workspace_service.history(self.workspace.prompt.id)
        self.workspace = self._with(history=history)
        self.history_panel.show_versions(history)
        self.compare.variants.set_choices(history, self._model_choices(),
                                          self._adapter_choices())

    def _with(self, **changes) -> Workspace:
        from dataclasses import replace

        return replace(self.workspace, **changes)

    # -- versions, drafts ----------------------------------------------------------------

    def save_draft(self) -> None:
        self._draft_timer.stop()
        if self.workspace is None:
            return
        try:
            self.workspace_service.save_draft(self.workspace.session.id, self.composer.to_draft())
        except WorkbenchError as error:
            self.banner.show_message(f"Autosave failed: {error}")

    def save_cases(self):
        cases = self.composer.cases
        case_set = self.workspace_service.save_cases(self.workspace.case_set, cases.rows(),
                                                     cases.checks(), cases.shared)
        self.workspace = self._with(case_set=case_set)
        return case_set

    def save_version(self, note: str = "") -> PromptVersion | None:
        if self.workspace is None:
            return None
        system, examples, template = self.composer.content()
        latest = self.workspace.latest
        try:
            version = self.workspace_service.save_version(
                self.workspace.prompt.id, system, examples, template,
                parent_id=latest.id if latest else None, note=note)
            self.save_cases()
        except WorkbenchError as error:
            self.banner.show_message(str(error))
            return None
        self.note_edit.clear()
        self.refresh_history()
        self.update_title()
        return version

    def restore_version(self, version: PromptVersion) -> None:
        """Load an old version into the editor; saving then makes a new version after it."""
        self.composer.set_version(version)
        self.save_draft()
        self.update_title()
        self.banner.show_message(f"Restored {self._version_name(version)} into the editor; "
                                 "save to make it the newest version.", "info")

    def fork_version(self, version: PromptVersion) -> None:
        name = f"{self.workspace.session.name} (fork)"
        workspace = self.workspace_service.create_session(name)
        self.workspace_service.save_version(
            workspace.prompt.id, version.system_prompt, list(version.examples),
            version.user_template, parent_id=None,
            note=f"forked from {self.workspace.session.name} {self._version_name(version)}")
        cases = self.composer.cases
        self.workspace_service.save_cases(workspace.case_set, cases.rows(), cases.checks(),
                                          cases.shared)
        self.sessions_panel.refresh(workspace.session.id)
        self.open_session(workspace.session.id)

    def _version_name(self, version: PromptVersion) -> str:
        ids = [v.id for v in self.workspace.history]
        return f"v{ids.index(version.id) + 1}" if version.id in ids else version.id[:8]

    # -- comparison ----------------------------------------------------------------------

    def run_comparison(self) -> None:
        if self.workspace is None or self.compare.running:
            return
        self.variants_keeper.save_now()  # the rows this run uses stay with the session
        current = self.save_version()
        if current is None:
            return
        case_set = self.workspace.case_set
        cases = list(case_set.cases) or []
        if not cases:
            self.compare.banner.show_message("Add at least one test case to compare variants.")
            return
        specs = []
        variants = self.compare.variants
        where = "Model bar"
        try:
            bar_engine = self.picker.engine_settings()
            for row in range(variants.count()):
                where = variants.label(row)
                choice = variants.version_choice(row)
                version = current if choice == CURRENT else \
                    self.workspace_service.version(choice)
                specs.append(VariantSpec(
                    variants.label(row), version, variants.model_choice(row),
                    variants.sampling(row), n_ctx=self.picker.n_ctx.value(),
                    adapter_path=variants.adapter_choice(row),
                    adapter_scale=variants.adapter_scale(row),
                    engine={**bar_engine, **variants.engine(row)},
                    retrieval=variants.retrieval(row)))
        except WorkbenchError as error:  # a bad flag in the model bar or a variant's row
            self.compare.banner.show_message(f"{where}: {error}")
            return
        if not specs:
            self.compare.banner.show_message("Add a variant to run.")
            return
        try:
            self.compare.start(self.workspace.session.id, case_set.id, cases, specs)
        except WorkbenchError as error:
            self.compare.banner.show_message(str(error))

    # -- status --------------------------------------------------------------------------

    def update_status(self) -> None:
        hosts = self.services.models.loaded()
        # One entry per model file, by its one name: copies with other settings (a variant's
        # engine flags, an embedding host) are the same model.
        names = ", ".join(sorted({self.model_names.of(h.settings.path) for h in hosts}))
        self.models_status.setText(f"Loaded: {names}" if hosts else "No model loaded")
        memory = self.services.models.memory_use()
        self.memory_status.setText(f"Model memory {human_bytes(memory)}" if memory else "")
        self.jobs_status.setText("Running comparison…" if self.compare.running else "Idle")

    def update_title(self) -> None:
        """"● Session — Prompt Workbench" while the prompt differs from its saved version."""
        if self.workspace is None:
            self.setWindowTitle(window_title(None))
            return
        unsaved = is_unsaved(self.composer.content(), self.workspace.latest)
        self.setWindowTitle(window_title(self.workspace.session.name, unsaved))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.compare.stop()
        self.save_draft()
        self.variants_keeper.save_now()
        self.save_layout()
        super().closeEvent(event)
