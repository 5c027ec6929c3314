"""The grid's judging: stars, blind pairwise preferences, the diff of two cells, the summary
(a part of ComparePanel, kept apart to keep each file about one thing)."""

from __future__ import annotations

import itertools

from ...core.runs import Output
from ...core.summary import summarize
from .blind_dialog import BlindDialog
from .diff_view import DiffDialog
from .grid_labels import case_label
from .grid_parts import PanelBase
from .output_cell import OutputCell


class GridJudging(PanelBase):
    """Mixed into ComparePanel: uses its run, cases, outputs, ratings and preferences."""

    def _on_rated(self, output_id: str, score: int, note: str) -> None:
        self.ratings.append(self.workspace.rate(output_id, score, note))
        self.refresh_summary()

    def record_preference(self, a: str, b: str, winner: str) -> None:
        self.preferences.append(self.workspace.prefer(a, b, winner, blind=True))
        self.refresh_summary()

    def blind_pairs(self):
        pairs = []
        for number, case in enumerate(self.cases, 1):
            answers = [self.outputs[(v.id, case.id)] for v in self.run.variants
                       if (v.id, case.id) in self.outputs
                       and self.outputs[(v.id, case.id)].answered]
            for a, b in itertools.combinations(answers, 2):
                pairs.append((case_label(case, number), a, b))
        return pairs

    def open_blind(self, *, exec_dialog: bool = True) -> BlindDialog | None:
        """The blind pairwise dialog, opened window-modal without blocking (``self.blind_dialog``);
        ``exec_dialog=False`` builds it without showing it."""
        if self.run is None:
            self.banner.show_message("Run a comparison first: blind comparison rates its "
                                     "answers.", "info")
            return None
        pairs = self.blind_pairs()
        if not pairs:
            self.banner.show_message("Blind comparison needs two finished answers to one case.",
                                     "info")
            return None
        self.blind_dialog = self._replace(self.blind_dialog,
                                          BlindDialog(pairs, self.record_preference, self))
        if exec_dialog:
            self.blind_dialog.open()
        return self.blind_dialog

    def selected_outputs(self) -> list[Output]:
        """Cells picked with their ⇄ button or selected in the grid, top-left first."""
        if self.run is None:
            return []
        places = {(i.row(), i.column()) for i in self.grid.selectedIndexes()}
        for row in range(self.grid.rowCount()):
            for column in range(self.grid.columnCount()):
                cell = self.grid.cellWidget(row, column)
                if isinstance(cell, OutputCell) and cell.pick.isChecked():
                    places.add((row, column))
        found = []
        for row, column in sorted(places):
            if row < len(self.cases) and column < len(self.run.variants):
                variant = self.run.variants[column]
                output = self.outputs.get((variant.id, self.cases[row].id))
                if output is not None:
                    found.append(output)
        return found

    def diff_selected(self, *, exec_dialog: bool = True) -> DiffDialog | None:
        """The word diff of the two chosen cells and where their tokens first differ, opened
        without blocking (``self.diff_dialog``)."""
        chosen = self.selected_outputs()
        if len(chosen) != 2:
            self.banner.show_message(
                f"Diff needs exactly two finished cells; {len(chosen)} chosen. Pick two with "
                "their ⇄ buttons.", "info")
            return None
        labels = {v.id: v.label for v in self.run.variants}
        old, new = chosen
        self.diff_dialog = self._replace(self.diff_dialog, DiffDialog(
            "Output diff", labels.get(old.variant_id, "A"), old.text,
            labels.get(new.variant_id, "B"), new.text, self))
        self._divergence_later(self.diff_dialog, old, new)  # the token section, when found
        if exec_dialog:
            self.diff_dialog.open()
        return self.diff_dialog

    @staticmethod
    def _replace(old, new):
        if old is not None:
            old.close()
            old.deleteLater()
        return new

    def refresh_summary(self) -> None:
        if self.run is None:
            return
        labels = {v.id: v.label or v.id[:8] for v in self.run.variants}
        self.summary.show_summaries(labels, summarize(
            [v.id for v in self.run.variants], list(self.outputs.values()), self.ratings,
            self.preferences))
