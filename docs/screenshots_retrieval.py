"""Take docs/retrieval-composer.png, and docs/prompt-sent.png from the
real app on the real bundled model: a session with a small document set, the composer
retrieving from it with BM25, variants none vs BM25, the Evaluation tab's recall@k / MRR from
the gold sources, and a BM25 cell's "Prompt sent…" with its retrieved chunks.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots_retrieval.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="workbench-shots-"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.retrieval_use.corpus

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from shot_window import open_window  # noqa: E402  (docs/shot_window.py)

from tests.retrieval_use.corpus import SYSTEM, TEMPLATE, make_set  # noqa: E402
from workbench.core.evaluation import Assertion  # noqa: E402
from workbench.core.retrieval import RetrievalSettings  # noqa: E402
from workbench.services.workspace import SetChecks  # noqa: E402

DOCS = Path(__file__).resolve().parent
BM25 = RetrievalSettings("handbook", "bm25", 3)
CASES = [("What do the rules say about badges, refunds and the night shift?",
          "security.md, refunds.md, handbook.md"),
         ("How many days until refunds are paid? Quote the rule.", "refunds.md")]


def main() -> int:
    app = QApplication(sys.argv[:1])
    window, services = open_window()
    service = services.retrieval
    session_id = window.workspace.session.id
    make_set(service, Path(tempfile.mkdtemp(prefix="docs-")), session_id=session_id)
    composer = window.composer
    composer.system_edit.setPlainText(SYSTEM)
    composer.template_edit.setPlainText(TEMPLATE)
    composer.set_cases([({"question": q, "context": "", "gold_sources": gold}, None)
                        for q, gold in CASES])
    composer.cases.shared = SetChecks((Assertion("max-length", value=400),))
    composer.cases.table.selectRow(0)
    composer.retrieval.set_source(service, session_id)
    composer.retrieval.set_settings(BM25)
    table = window.compare.variants
    table.table.setRowCount(0)
    table.add_variant("no retrieval", temperature=0.0, seed=0, max_tokens=48)
    table.add_variant("bm25 k=3", temperature=0.0, seed=0, max_tokens=48, retrieval=BM25)

    def run() -> None:
        budget = composer.budget
        if budget is None or not budget.retrieved:
            composer.schedule_measure()
            QTimer.singleShot(500, run)
            return
        window.run_comparison()

    def shoot(_status) -> None:
        composer.cases.table.selectRow(0)
        QTimer.singleShot(2500, save)

    def save() -> None:
        budget = composer.budget
        window.grab().save(str(DOCS / "retrieval-composer.png"))
        print(f"saved; retrieved part {budget.retrieved} tokens of {budget.prompt}")
        window.tabs.setCurrentWidget(window.eval_results)
        QTimer.singleShot(4000, save_evaluation)

    def save_evaluation() -> None:
        view = window.eval_results
        window.grab().save(str(DOCS / "retrieval-evaluation.png"))
        shown = view.report.retrieval if view.report is not None else "no report"
        print(f"saved the Evaluation tab; retrieval: {shown}")
        window.tabs.setCurrentIndex(0)
        retrieved = window.compare.run.variants[1].id
        cell = next(c for (variant_id, case_id), c in window.compare.cells.items()
                    if variant_id == retrieved and case_id == window.compare.cases[0].id)
        cell.prompt_action.trigger()
        QTimer.singleShot(3000, save_prompt)

    def save_prompt() -> None:
        dialog = window.compare.prompt_dialog
        dialog.tabs.setCurrentIndex(2)
        dialog.chunk_table.selectRow(0)
        QTimer.singleShot(500, lambda: (dialog.grab().save(str(DOCS / "prompt-sent.png")),
                                        print("saved the Prompt sent dialog"), app.quit()))

    window.splitter.setSizes([620, 380])  # room for the context bar under the preview
    window.compare.results_splitter.setSizes([84, 240, 50])  # both variant rows in view
    window.compare.run_finished.connect(shoot)
    window.models.loaded.connect(lambda _meta: QTimer.singleShot(1500, run))
    QTimer.singleShot(120_000, app.quit)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
