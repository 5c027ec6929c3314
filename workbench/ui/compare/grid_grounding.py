"""The grid's grounding line: for outputs whose prompt held retrieved chunks, how many of the
answer's quotes the chunks support ("2 quotes: 1 supported · 1 fabricated"), each quote in the
tooltip. Read off the GUI thread (the chunks are stored with the output). A part of
ComparePanel, kept apart to keep each file about one thing."""

from __future__ import annotations

from ...core.runs import Output
from ...services.retrieval_context import groundings
from ..job_bridges import BackgroundCall
from .grid_parts import PanelBase


class GridGrounding(PanelBase):
    """Mixed into ComparePanel."""

    def _ground_later(self, outputs: list[Output]) -> None:
        outputs = [o for o in outputs if o.answered]
        if not outputs or self.run is None or not any(
                variant.retrieval.active for variant in self.run.variants):
            return  # no variant retrieves: no prompt held chunks to ground against
        store, run = self.runs.store, self.run
        call = BackgroundCall(lambda: groundings(store, outputs), self)
        call.succeeded.connect(lambda reports: self._show_groundings(run, reports))
        call.start()

    def _show_groundings(self, run, reports: dict) -> None:
        if self.run is None or run is None or self.run.id != run.id:
            return  # another run is shown now
        for cell in self.cells.values():
            if cell.output is not None and cell.output.id in reports:
                cell.show_grounding(reports[cell.output.id])
        self._fit_timer.start()
