from __future__ import annotations

from contextlib import contextmanager

import pytest
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

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


@contextmanager
def event_loop_gaps(interval_ms: int = 10):
    """The GUI thread's stalls while the block runs: a timer ticks every ``interval_ms`` and
    the list gets the milliseconds between ticks (a stall shows as one long gap)."""
    gaps: list[int] = []
    clock, probe = QElapsedTimer(), QTimer(interval=interval_ms)

    def tick():
        if clock.isValid():
            gaps.append(clock.restart())
        else:
            clock.start()

    probe.timeout.connect(tick)
    probe.start()
    try:
        yield gaps
    finally:
        probe.stop()
