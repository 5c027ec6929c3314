"""Take the screenshots in docs/ from the real app on the real bundled model.

    make screenshots            # offscreen
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="workbench-shots-"))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from workbench.services.models import ModelService  # noqa: E402
from workbench.ui.chat_window import ChatWindow  # noqa: E402

DOCS = Path(__file__).resolve().parent


def chat_window(app: QApplication, service: ModelService) -> None:
    window = ChatWindow(service)
    window.resize(1100, 700)
    window.show()

    def ask(_meta) -> None:
        window.system_edit.setText("You are a concise assistant.")
        window.input.setPlainText("Give me three tips for writing good prompts.")
        window.send()

    def save(_text: str) -> None:
        QTimer.singleShot(300, lambda: (window.grab().save(str(DOCS / "chat-window.png")),
                                        app.quit()))

    window.model_loaded.connect(ask)
    window.reply_finished.connect(save)
    window.load_model()


def main() -> int:
    app = QApplication(sys.argv[:1])
    service = ModelService()
    chat_window(app, service)
    QTimer.singleShot(120_000, app.quit)
    try:
        app.exec()
    finally:
        service.close()
    print(f"wrote {DOCS / 'chat-window.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
