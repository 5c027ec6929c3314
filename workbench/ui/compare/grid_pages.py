"""The grid a page of cases at a time. A cell is a widget (text, stars, badges, buttons):
2,000 of them took 12 s to lay out and every refit walked them all, so a run over thousands of
cases shows PAGE_CASES at a time. The run, its counts, the summary and the pass line cover every
case; the page only decides which cells have widgets. A ComparePanel mixin."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTableWidgetItem, QWidget

from .grid_labels import case_header, case_tooltip
from .grid_parts import PanelBase
from .output_cell import OutputCell

PAGE_CASES = 40
# A new cell costs ~5 ms (a dozen child widgets): a page of new cells is made this many at a
# time, one batch per turn of the event loop, so the window never stalls for long.
FIRST_CELLS = 16
CELLS_PER_TURN = 8


class GridPages(PanelBase):
    """Needs the panel's run, cases, cells, outputs, repeat_outputs, ratings, running and its
    _lay_out_page, _show_repeats, _verdict_of, _annotate_later and fit_rows."""

    page = 0
    _layout_generation = 0

    def _lay_out_page(self) -> None:
        """One cell per variant × case of the page. A grid of the same shape keeps its cells
        (cleared): building and deleting a dozen cells stalled the window for 13–35 ms."""
        run, cases = self.run, self.page_cases()
        self.cells.clear()
        self.grid.clearSelection()
        self._layout_generation += 1
        rows, columns = len(cases), len(run.variants)
        reuse = (self.grid.rowCount() == rows and self.grid.columnCount() == columns
                 and all(isinstance(self.grid.cellWidget(r, c), OutputCell)
                         for r in range(rows) for c in range(columns)))
        if not reuse:
            self.grid.clear()
            self.grid.setColumnCount(columns)
            self.grid.setRowCount(rows)
        self.grid.setHorizontalHeaderLabels([v.label or f"Variant {i + 1}"
                                             for i, v in enumerate(run.variants)])
        first = self.page * PAGE_CASES
        new = []
        for row, case in enumerate(cases):
            item = QTableWidgetItem(case_header(case, first + row + 1))
            item.setToolTip(case_tooltip(case, first + row + 1))
            self.grid.setVerticalHeaderItem(row, item)
            for column, variant in enumerate(run.variants):
                if reuse:
                    cell = self.grid.cellWidget(row, column)
                    cell.clear()
                    self._place(cell, variant, case)
                else:
                    new.append((row, column, variant, case))
        self._make_cells(new[:FIRST_CELLS], fill=False)
        if len(new) > FIRST_CELLS:
            self._make_later(new[FIRST_CELLS:], self._layout_generation)
        self._show_page_bar()
        self.fit_rows()

    def _new_cell(self, row: int, column: int) -> OutputCell:
        cell = OutputCell()
        cell.rated.connect(self._on_rated)
        cell.rerun_requested.connect(lambda c=cell: self.rerun_cell(*c.key))
        self._inspect_cell(cell)
        self.grid.setItem(row, column, QTableWidgetItem())  # selectable for Diff
        self.grid.setCellWidget(row, column, cell)
        return cell

    def _place(self, cell: OutputCell, variant, case) -> None:
        cell.key = (variant.id, case.id)
        cell.set_expected(case.expected)
        self.cells[cell.key] = cell

    def _make_cells(self, new: list, fill: bool = True) -> None:
        for row, column, variant, case in new:
            self._place(self._new_cell(row, column), variant, case)
        if fill:  # made after the page was filled: show what they hold now
            self._fill_cells([(variant.id, case.id) for _, _, variant, case in new])

    def _make_later(self, new: list, generation: int) -> None:
        def next_batch() -> None:
            if generation != self._layout_generation:
                return  # another page or run was laid out since
            self._make_cells(new[:CELLS_PER_TURN])
            if len(new) > CELLS_PER_TURN:
                self._make_later(new[CELLS_PER_TURN:], generation)

        QTimer.singleShot(0, self, next_batch)

    def _build_page_bar(self) -> QWidget:
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(0, 0, 0, 0)
        self.page_back = QPushButton("◀")
        self.page_next = QPushButton("▶")
        self.page_label = QLabel()
        for button, step, tip in ((self.page_back, -1, "Earlier cases"),
                                  (self.page_next, 1, "Later cases")):
            button.setToolTip(tip)
            button.setMaximumWidth(32)
            button.clicked.connect(lambda _checked=False, s=step: self.show_page(self.page + s))
        layout.addWidget(self.page_back)
        layout.addWidget(self.page_label)
        layout.addWidget(self.page_next)
        bar.hide()
        self.page_bar = bar
        return bar

    def page_count(self) -> int:
        return max(1, -(-len(self.cases) // PAGE_CASES))

    def page_cases(self) -> list:
        start = self.page * PAGE_CASES
        return self.cases[start:start + PAGE_CASES]

    def all_keys(self) -> list[tuple[str, str]]:
        """Every cell of the shown run, on any page (what the state line counts)."""
        if self.run is None:
            return []
        return [(variant.id, case.id) for case in self.cases for variant in self.run.variants]

    def show_page(self, page: int) -> None:
        page = min(max(0, page), self.page_count() - 1)
        if page == self.page and self.cells:
            return
        self.page = page
        if self.run is None:
            return
        self._lay_out_page()
        self._fill_cells()
        if self.outputs:
            self._annotate_later(self.run, self.page_cases())

    def _show_page_bar(self) -> None:
        pages = self.page_count()
        self.page_bar.setVisible(pages > 1)
        start = self.page * PAGE_CASES
        self.page_label.setText(f"cases {start + 1}–{start + len(self.page_cases())} "
                                f"of {len(self.cases)}")
        self.page_back.setEnabled(self.page > 0)
        self.page_next.setEnabled(self.page < pages - 1)

    def _fill_cells(self, keys: list | None = None) -> None:
        """The page's cells (or those of ``keys``) from what the panel holds: answers,
        ratings, verdicts, repeats."""
        latest = {r.output_id: r for r in sorted(self.ratings, key=lambda r: r.created_at)}
        for key in list(self.cells) if keys is None else keys:
            cell = self.cells[key]
            output = self.outputs.get(key)
            if output is not None:
                rating = latest.get(output.id)
                cell.show_output(output, rating.score if rating else None,
                                 rating.note if rating else "")
                cell.show_verdict(self._verdict_of(output))
            elif self.running:
                cell.stats.setText("queued")
            self._show_repeats(key)
        self.fit_rows()
