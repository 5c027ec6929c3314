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
from shot_window import open_window  # noqa: E402  (docs/shot_window.py)

from workbench.core.prompts import FewShotExample  # noqa: E402

DOCS = Path(__file__).resolve().parent


def compose(window) -> None:
    composer = window.composer
    composer.system_edit.setPlainText("You write one short, catchy slogan for a product. "
                                      "Answer with the slogan only.")
    composer.template_edit.setPlainText("Product: {{ product }}")
    composer.examples.set_examples([  # through the template, like the cases
        FewShotExample.templated({"product": "a reusable water bottle"},
                                 "Drink green, live clean."),
        FewShotExample.templated({"product": "noise-cancelling headphones"},
                                 "Silence the world, hear yours."),
    ])
    composer.set_cases([
        ({"product": "a solar-powered phone charger"}, None),
        ({"product": "a coffee shop for cats"}, None),
        ({"product": "an app that reminds you to stretch"}, None),
    ])
    composer.cases.table.selectRow(0)


def main() -> int:
    app = QApplication(sys.argv[:1])
    window, services = open_window()
    compose(window)

    def on_loaded(_meta) -> None:
        QTimer.singleShot(1500, take_composer)

    def take_composer() -> None:
        window.grab().save(str(DOCS / "composer.png"))
        window.run_comparison()

    def on_run_done(_status) -> None:
        cell = next(iter(window.compare.cells.values()))
        cell.rate(5)
        QTimer.singleShot(500, finish)

    def finish() -> None:
        window.tabs.setCurrentIndex(0)
        window.splitter.setSizes([330, 620])
        QTimer.singleShot(300, lambda: (window.grab().save(str(DOCS / "compare.png")),
                                        models_tab()))

    def models_tab() -> None:
        window.tabs.setCurrentWidget(window.library_panel)
        QTimer.singleShot(2500, lambda: (window.grab().save(str(DOCS / "models.png")),
                                         app.quit()))

    window.models.loaded.connect(on_loaded)
    window.compare.run_finished.connect(on_run_done)
    QTimer.singleShot(180_000, app.quit)
    try:
        app.exec()
    finally:
        services.models.close()
        services.store.close()
    print("wrote", DOCS / "composer.png", DOCS / "compare.png", DOCS / "models.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
