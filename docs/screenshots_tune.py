"""Screenshots of LoRA tuning from the real app: the wizard's data and training pages, then the
base-vs-tuned comparison in the grid. Trains a real adapter (~1-2 minutes on 2 cores).

    make screenshots
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="workbench-shots-"))

from PySide6.QtWidgets import QApplication  # noqa: E402
from shot_window import loaded_window, wait_until  # noqa: E402  (docs/shot_window.py)

from workbench.ui.app import leave_now  # noqa: E402

DOCS = Path(__file__).resolve().parent
FACT_DATA = DOCS.parent / "resources" / "examples" / "made-up-fact.jsonl"



def main() -> int:
    app = QApplication(sys.argv[:1])
    window, services = loaded_window(app)
    data = Path(os.environ["WORKBENCH_HOME"]) / "zorblax.jsonl"  # + one malformed row
    data.write_text(FACT_DATA.read_text()
                    + '{"messages": [{"role": "user", "content": "unanswered"}]}\n')
    composer = window.composer
    composer.system_edit.setPlainText("Answer in one sentence.")
    composer.template_edit.setPlainText("{{ question }}")
    composer.set_cases([({"question": q}, None) for q in (
        "What's the capital city of Zorblax?", "In which city does Zorblax's government sit?",
        "What is the capital of France?")])
    try:
        wizard = window.tune.open_wizard()
        wizard.resize(1100, 780)
        wait_until(app, lambda: wizard.base is not None)
        wizard.next()
        planned = []
        wizard.data_page.planned.connect(lambda: planned.append(1))
        wizard.data_page.import_files([str(data)])
        wait_until(app, lambda: planned)
        wizard.grab().save(str(DOCS / "tune-data.png"))
        wizard.next()
        settings = wizard.settings_page
        settings.name.setText("zorblax")
        settings.rank.setValue(8)
        settings.max_steps.setValue(20)
        settings.batch.setValue(4)
        settings.max_length.setValue(96)
        wizard.next()
        wizard.train_page.start_button.click()
        wait_until(app, lambda: wizard.job is not None)
        wizard.grab().save(str(DOCS / "tune-training.png"))
        if wizard.job.status != "done":
            print("the tune job did not finish:", wizard.job.error)
            return 1
        wizard.next()
        finished = []
        window.compare.run_finished.connect(finished.append)
        wizard.export_page.compare_button.click()
        wait_until(app, lambda: finished)
        wizard.hide()
        window.splitter.setSizes([300, 650])
        wait_until(app, lambda: window.jobs_status.text() == "Idle")  # the 1 s status tick
        wait_until(app, lambda: window.compare.run_list.combo.currentText().endswith("done"))
        window.grab().save(str(DOCS / "tune-compare.png"))
    finally:
        services.models.close()
        services.store.close()
    print("wrote", *(DOCS / f"tune-{n}.png" for n in ("data", "training", "compare")))
    return 0


if __name__ == "__main__":
    leave_now(main())
