"""A screenshot of the Documents tab from the real app: a document set of a few markdown files,
one document's chunks drawn, a hybrid search (embedded with the bundled model) listed.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots_documents.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="workbench-shots-"))

from PySide6.QtWidgets import QApplication  # noqa: E402
from shot_window import loaded_window, wait_until  # noqa: E402  (docs/shot_window.py)

from workbench.core.retrieval import ChunkingSpec  # noqa: E402
from workbench.ui.app import leave_now  # noqa: E402
from workbench.ui.job_bridges import background_calls_in_flight  # noqa: E402

DOCS = Path(__file__).resolve().parent
NOTES = {
    "brewing.md": """# Brewing tea

## Green tea

Green tea wants water at about 80 °C. Steep it for two minutes; longer makes it bitter. A
second infusion of the same leaves is often better than the first, and a third is still good.

## Black tea

Black tea takes boiling water and three to five minutes. Milk goes in after the tea, so the
water stays hot enough to draw out the flavour.

## Oolong

Oolong sits between the two: 90 °C, several short infusions of thirty seconds each, the leaves
unfurling more with every pot.
""",
    "storing.md": """# Storing tea

Keep tea in an airtight tin away from light, heat and strong smells: tea takes on the smell of
whatever is near it. Green tea keeps for about six months, black tea for two years, pu-erh for
decades. Never keep tea in the fridge, where it picks up moisture each time the tin is opened.
""",
    "history.md": """# A short history

Tea was drunk in China for centuries before it reached Europe in the seventeenth century through
Dutch traders. In Britain it became a daily habit in the eighteenth century, and the afternoon
tea with cakes and sandwiches followed in the nineteenth.
""",
}
WATER = """# Water

Soft water makes the clearest tea; hard water leaves a film on black tea. Boil fresh water
each time: water boiled twice has lost the air that carries the flavour.
"""



def main() -> int:
    app = QApplication(sys.argv[:1])
    window, services = loaded_window(app)
    folder = Path(os.environ["WORKBENCH_HOME"]) / "tea-notes"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    try:
        session = window.workspace.session.id
        services.retrieval.create_set("tea-notes", session_id=session,
                                      chunking=ChunkingSpec("tokens", 48, 12))
        # Three notes added and embedded (the bundled model) beforehand; the panel adds the
        # folder again with one more note and an empty file, so its summary and the skipped
        # list show.
        services.retrieval.add("tea-notes", [folder], embed_model="bundled", session_id=session)
        (folder / "water.md").write_text(WATER, encoding="utf-8")
        (folder / "empty.md").write_text("", encoding="utf-8")
        panel = window.documents_panel
        window.tabs.setCurrentWidget(panel)
        wait_until(app, lambda: panel.current is not None and background_calls_in_flight() == 0)
        ended = []
        panel.strip.ended.connect(ended.append)
        panel.add_paths([folder])
        wait_until(app, lambda: ended)
        if ended[0].status != "done":
            print("adding failed:", ended[0].error)
        wait_until(app, lambda: background_calls_in_flight() == 0 and panel.documents)
        panel.select_document(next(d.id for d in panel.documents if d.title.startswith("Brew")
                                   or d.path.endswith("brewing.md")))
        wait_until(app, lambda: bool(panel.chunk_view.chunks))
        panel.search.query.setText("how hot should the water be for green tea")
        panel.search.request()
        wait_until(app, lambda: panel.search.status.text() not in ("", "Searching…"))
        panel.search.results.selectRow(0)
        wait_until(app, lambda: background_calls_in_flight() == 0)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        window.grab().save(str(DOCS / "documents.png"))
        print("saved", DOCS / "documents.png", "|", panel.job_report.summary.text(), "|",
              panel.search.status.text())
    finally:
        window.compare.stop()
        services.models.close()
        services.store.close()
    leave_now(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
