"""Start the desktop app."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from ..services.models import ModelService
from .chat_window import ChatWindow


def run_app(model: str | None = None, argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Prompt Workbench")
    app.setOrganizationName("prompt-workbench")
    service = ModelService()
    window = ChatWindow(service, model)
    window.show()
    window.load_model()
    try:
        return app.exec()
    finally:
        service.close()
