"""Take docs/fewshot-report.png: the few-shot vs fine-tune dialog showing a stored report.

    .venv/bin/workbench experiment few-shot-vs-lora few-shot-vs-lora --json > /tmp/fs.json
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots_fewshot.py \\
        EXPERIMENT_FOLDER/results.json docs/fewshot-report.png

The dialog is opened through the window's Experiments menu; the report is the one the stored
results.json rebuilds (the same document the live run shows).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="shot-"))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from workbench.core.paths import app_paths  # noqa: E402
from workbench.services.experiments.fewshot_report import build_document  # noqa: E402
from workbench.services.models import ModelService  # noqa: E402
from workbench.services.sessions import open_store  # noqa: E402
from workbench.ui.main_window import AppServices, MainWindow  # noqa: E402


def main(results_path: str, out: str) -> None:
    results = json.loads(Path(results_path).read_text())
    app = QApplication([])
    services = AppServices(models=ModelService(), store=open_store())
    settings = QSettings(str(app_paths().ensure().config / "window.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(services, settings)
    window.show()
    window.experiments.fewshot_action.trigger()
    dialog = window.experiments.dialogs["fewshot"]
    dialog.from_file.setChecked(True)
    dialog.file_edit.setText("resources/examples/few-shot-vs-lora.jsonl")
    dialog.system_edit.setText(results["system"])
    dialog.held_out.setValue(results["held_out"])
    dialog.repeats.setValue(results["repeats"])
    dialog.steps.setValue(results["training_steps"])
    dialog.k_edit.setText(", ".join(map(str, results["ks"])))
    dialog.show_report(build_document(results))
    dialog.progress.setRange(0, 1)
    dialog.progress.setValue(1)
    dialog.step_label.setText(f"Done. Stored in {results['folder']}.")
    dialog.save_html.setEnabled(True)
    dialog.save_md.setEnabled(True)
    dialog.resize(1150, 1000)

    def shoot() -> None:
        dialog.report.verticalScrollBar().setValue(0)
        dialog.grab().save(out)
        services.models.close()
        os._exit(0)

    QTimer.singleShot(1500, shoot)
    app.exec()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
