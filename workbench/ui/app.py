"""Start the desktop app."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ..core.paths import app_paths
from ..services.models import ModelService
from ..services.plugins import PluginManager, start_plugins
from ..services.sessions import open_store
from . import startup_probe
from .collector import freeze_startup_objects
from .main_window import AppServices, MainWindow
from .preload import ModelPreload


def window_settings() -> QSettings:
    """Window layout lives beside the app's other settings (and under WORKBENCH_HOME)."""
    return QSettings(str(app_paths().ensure().config / "window.ini"), QSettings.Format.IniFormat)


def create_main_window(safe_mode: bool = False, models: ModelService | None = None,
                       plugins: PluginManager | None = None) -> tuple[MainWindow, AppServices]:
    """``models``: a service made before the store was open (ui/preload.py starts the default
    model in it); it lists models through the app's store from here on. ``plugins``: the
    manager the preload started for it (else they start here)."""
    store = open_store()
    if models is None:
        models = ModelService(store=store)
    else:
        models.store = store
    if plugins is None:
        plugins = start_plugins(models, safe_mode=safe_mode)
    services = AppServices(models=models, store=store, plugins=plugins)
    window = MainWindow(services, window_settings())
    for notice in services.store.notices:
        window.banner.show_message(notice, "info")
    stopped = services.tuning.recover()  # trainers that ended with an earlier app
    if stopped:
        names = ", ".join(job.config.get("name") or job.id[:8] for job in stopped)
        window.banner.show_message(
            f"Tune job{'s' if len(stopped) > 1 else ''} {names} stopped when the app closed; "
            "Tune ▸ Resume a tune job continues from the last checkpoint.", "info")
    return window, services


def run_app(model: str | None = None, argv: list[str] | None = None,
            safe_mode: bool = False, hard_exit: bool = True,
            preload: ModelPreload | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Prompt Workbench")
    try:
        models, plugins = (preload.models, preload.plugins()) if preload else (None, None)
        window, services = create_main_window(safe_mode, models, plugins)
    except BaseException:
        if preload is not None:  # e.g. the store would not open: stop the model host too
            preload.models.close()
        raise
    if preload is not None:
        settle_after_first_load(window, preload)
    startup_probe.install(window)
    window.show()
    window.start(model)
    freeze_startup_objects()
    try:
        code = app.exec()
    finally:
        services.models.close()
        services.store.close()
    if hard_exit:
        leave_now(code)
    return code


def settle_after_first_load(window: MainWindow, preload: ModelPreload) -> None:
    """Tell the preload which host the window's first load ended with, once."""
    controller = window.models

    def settle(*_args) -> None:
        for ended in (controller.loaded, controller.failed, controller.cancelled):
            ended.disconnect(settle)
        preload.settle(controller.host)

    for ended in (controller.loaded, controller.failed, controller.cancelled):
        ended.connect(settle)


def leave_now(code: int) -> None:
    """Exit without the interpreter's teardown. Everything is saved and closed by now; what
    is left is Qt's and the C extensions' objects being freed in no particular order, where
    the process aborted ("bool_dealloc") after a tune and a comparison in one session: PySide6
    6.12 loses a reference to True/False in places (a Python slot that returns one loses it on
    every call; tests/test_architecture.py keeps our own slots from doing so), pyqtgraph's items
    add more, and the interpreter's final collection frees the last one. pyqtgraph.exit()
    documents the same class of crash and the same remedy."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
