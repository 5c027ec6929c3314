"""What the screenshot scripts share: the real window at the screenshots' size, and waiting for
the app while its event loop keeps running (imported from docs/, where the scripts live)."""

from __future__ import annotations

import time

from workbench.ui.app import create_main_window


def open_window(on_loaded=None):
    """The app's window, 1600×1000, shown and started (its model loading in the background);
    ``on_loaded(metadata)`` is connected before the load starts, so it cannot be missed."""
    window, services = create_main_window()
    window.resize(1600, 1000)
    window.show()
    if on_loaded is not None:
        window.models.loaded.connect(on_loaded)
    window.start()
    return window, services


def wait_until(app, condition, timeout_s: float = 600) -> None:
    """Run the event loop until ``condition()`` holds (TimeoutError after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def loaded_window(app, timeout_s: float = 600):
    """``open_window``, returned once the model has loaded."""
    loaded = []
    window, services = open_window(loaded.append)
    wait_until(app, lambda: loaded, timeout_s)
    return window, services
