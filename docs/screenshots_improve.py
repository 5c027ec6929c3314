"""Take docs/improve-dialog.png: the Improve dialog at the end of a real search.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots_improve.py \\
        [BUDGET] [OUT]

A fresh data folder holds the shipped sentiment task (resources/improve-sentiment.yaml) as a
session; the window opens it, the dialog is opened by the toolbar's Improve… button and the
search runs on the bundled model (target and proposer) with BUDGET generations (default 160).
The picture is taken once the evidence and the diff are shown.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="shot-improve-"))

from PySide6.QtWidgets import QApplication  # noqa: E402
from shot_window import loaded_window, wait_until  # noqa: E402

from workbench.services.evaluation.preflight import check_file, preflight_for  # noqa: E402
from workbench.services.evaluation.suite_session import store_suite  # noqa: E402
from workbench.services.models import ModelService  # noqa: E402
from workbench.services.sessions import open_store  # noqa: E402
from workbench.ui.main_window import AppServices  # noqa: E402

DOCS = Path(__file__).resolve().parent
TASK = DOCS.parent / "resources" / "improve-sentiment.yaml"


def store_task() -> None:
    """The task as a session, before the window opens (it opens the only session)."""
    services = AppServices(models=ModelService(), store=open_store())
    try:
        suite = check_file(TASK, preflight_for(services.evaluation))
        store_suite(services.store, suite, yaml_text=TASK.read_text(encoding="utf-8"))
    finally:
        services.models.close()
        services.store.close()


def main(budget: int, out: str) -> None:
    store_task()
    app = QApplication(sys.argv[:1])
    window, services = loaded_window(app)
    variants = window.compare.variants
    variants.table.setRowCount(0)
    variants.add_variant("SmolLM2 greedy", temperature=0.0, seed=0, max_tokens=12)
    window.improve_button.click()
    dialog = window.experiments.dialogs["improve"]
    dialog.form.generations.setValue(budget)
    dialog.form.format_line.setChecked(True)
    dialog.resize(1300, 980)
    dialog.start_button.click()
    wait_until(app, lambda: dialog.outcome is not None, timeout_s=3600)
    wait_until(app, lambda: "alike" in dialog.diff.toPlainText(), timeout_s=60)
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(out)
    print(dialog.status.text())
    print(dialog.evidence.text())
    services.models.close()
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 160,
         sys.argv[2] if len(sys.argv) > 2 else str(DOCS / "improve-dialog.png"))
