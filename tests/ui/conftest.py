from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from workbench.core.paths import app_paths
from workbench.services.models import ModelService
from workbench.services.sessions import open_store
from workbench.ui.main_window import AppServices, MainWindow


@pytest.fixture
def app_services():
    services = AppServices(models=ModelService(), store=open_store())
    yield services
    services.models.close()
    services.store.close()


def make_window(qtbot, services, *, wait_for_model: bool = True, model: str | None = None):
    settings = QSettings(str(app_paths().ensure().config / "window.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(services, settings)
    qtbot.addWidget(window)
    window.show()
    if wait_for_model:
        with qtbot.waitSignal(window.models.loaded, timeout=60_000):
            window.start(model)
    else:
        window.start(model)
    return window


@pytest.fixture
def main_window(qtbot, app_services):
    window = make_window(qtbot, app_services)
    yield window
    window.compare.stop()
