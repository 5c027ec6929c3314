"""Take docs/quantlab-report.png: the Quantization lab dialog showing a stored lab's report.

    .venv/bin/python tests/bench/bench_quantlab.py --keep /tmp/qbench   # measure first
    WORKBENCH_HOME=/tmp/qbench xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python docs/screenshots_quantlab.py [EXPERIMENT_FOLDER]

Without a folder it takes the newest lab under the app's data folder. The dialog is opened
through the window's Experiments menu, and the report is the one results.json reopens.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from workbench.services.experiments.folders import experiments_folder  # noqa: E402
from workbench.services.experiments.quantlab import load_results  # noqa: E402
from workbench.ui.app import create_main_window  # noqa: E402

DOCS = Path(__file__).resolve().parent


def main() -> int:
    app = QApplication(sys.argv[:1])
    folders = sorted(experiments_folder().glob("*-quantlab"))
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else (folders[-1] if folders else None)
    if folder is None:
        print("no stored lab: run tests/bench/bench_quantlab.py --keep DIR first",
              file=sys.stderr)
        return 1
    window, services = create_main_window()
    window.start()
    window.experiments.quantlab_action.trigger()
    dialog = window.experiments.dialogs["quantlab"]
    outcome = load_results(folder)
    config = outcome.results["config"]
    for name, box in dialog.type_boxes.items():
        box.setChecked(name in config["quants"])
    dialog.repeats_spin.setValue(config["repeats"])
    dialog.pp_spin.setValue(config["pp"])
    dialog.tg_spin.setValue(config["tg"])
    dialog.engine_edit.setText("; ".join(e for e in config["engines"] if e))
    dialog.show_outcome(outcome)
    dialog.progress_bar.setValue(1000)
    dialog.step_label.setText(f"Done — kept in {outcome.folder}")
    dialog.resize(1400, 1000)

    def shoot() -> None:
        if not dialog.figure_names:  # the report is built off the GUI thread
            QTimer.singleShot(200, shoot)
            return
        QTimer.singleShot(300, take)

    def take() -> None:
        bar = dialog.report_view.verticalScrollBar()  # the table's end and the whole plot
        bar.setValue(int(bar.maximum() * 0.70))
        dialog.grab().save(str(DOCS / "quantlab-report.png"))
        print(DOCS / "quantlab-report.png")
        window.close()
        app.quit()

    QTimer.singleShot(1500, shoot)
    app.exec()
    services.models.close()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
