"""Hooks for measuring start-up from outside (tests/bench/bench_startup.py).

``WORKBENCH_EXIT_AFTER_SHOWN=1``: print ``workbench-probe shown <unix time>`` when the main
window has painted for the first time, then quit. ``WORKBENCH_EXIT_AFTER_READY=1``: the same
with ``ready`` once the model loaded at start reports ready (``failed <message>`` and exit
code 1 if it does not). The times are ``time.time()``, comparable with the launching process.
Without these variables nothing is installed.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

SHOWN_VAR, READY_VAR = "WORKBENCH_EXIT_AFTER_SHOWN", "WORKBENCH_EXIT_AFTER_READY"


def report(what: str) -> None:
    print(f"workbench-probe {what} {time.time():.6f}", flush=True)


class _FirstPaint(QObject):
    """Report the window's first paint: show() alone only queues it."""

    def __init__(self, window, then):
        super().__init__(window)
        self._then = then
        window.installEventFilter(self)

    def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            # After this paint has finished, not inside it.
            QTimer.singleShot(0, self._then)
        return super().eventFilter(watched, event)


def install(window) -> None:
    """Call before ``window.show()``; a no-op unless one of the variables is set."""
    app = QApplication.instance()
    if os.environ.get(SHOWN_VAR):
        window._startup_probe = _FirstPaint(window, lambda: (report("shown"), app.exit(0)))
    elif os.environ.get(READY_VAR):
        window.models.loaded.connect(lambda _meta: _ready(app))
        window.models.failed.connect(lambda message: _failed(app, message))


def _ready(app) -> None:
    report("ready")
    app.exit(0)


def _failed(app, message: str) -> None:
    print(f"workbench-probe failed {message}", file=sys.stderr, flush=True)
    app.exit(1)
