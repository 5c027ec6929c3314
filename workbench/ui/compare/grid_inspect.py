"""The grid's token inspector: a cell's tokens, branching from a token, the first divergence of
two cells, the likelihood of a case's expected answer (a part of ComparePanel, kept apart to
keep each file about one thing). Everything that reads the store or runs the model happens in
a BackgroundCall."""

from __future__ import annotations

from ...core.runs import Output
from ...core.tokens import TokenTrace
from ...services.inspection import InspectionService
from ...services.sent_prompt import sent_prompt
from ..job_bridges import BackgroundCall
from .grid_parts import PanelBase
from .output_cell import OutputCell
from .prompt_dialog import PromptDialog


class GridInspect(PanelBase):
    """Mixed into ComparePanel: uses its run, cases, cells, spec_for, runs and banner."""

    _inspection_service = None

    @property
    def inspection(self):
        """The inspection service, made on first use (it holds the store and the models)."""
        if self._inspection_service is None:
            self._inspection_service = InspectionService(self.runs.store, self.runs.models,
                                                          self.runs.plugins)
        return self._inspection_service

    def _inspect_cell(self, cell: OutputCell) -> None:
        """Wire a new cell's Tokens view, branch buttons and likelihood action."""
        cell.trace_wanted.connect(lambda c=cell: self._load_trace(c))
        cell.branch_requested.connect(lambda position, token, c=cell:
                                      self.branch_from(c, position, token))
        cell.likelihood_requested.connect(lambda c=cell: self._likelihood_for(c))
        cell.prompt_requested.connect(lambda c=cell: self._prompt_of(c))
        cell.layout_changed.connect(self._fit_timer.start)  # its row follows its height

    # -- tokens --------------------------------------------------------------------------

    def _load_trace(self, cell: OutputCell) -> None:
        output = cell.output
        if output is None:
            return
        history = self.history
        self._call(f"trace {cell.key}", lambda: history.token_trace(output.id),
                   lambda trace: cell.show_trace(output.id, trace))

    # -- branch --------------------------------------------------------------------------

    def branch_from(self, cell: OutputCell, position: int, token_id: int) -> None:
        """Generate the cell again from token ``position`` on, with ``token_id`` there and the
        shown output's tokens before it; the new output replaces the cell's (both stored)."""
        trace = cell.token_view.trace if cell.token_view is not None else None
        output = cell.output
        if (self.run is None or self.spec_for is None or output is None or trace is None
                or cell.key is None or position >= len(trace.tokens)):
            return
        old = trace.tokens[position]
        new = next((alt.piece for alt in old.top if alt.token_id == token_id), b"")
        forced = forced_prefix(trace, position, token_id)
        variant, case, spec, listener = self.one_cell(*cell.key)
        cell.pending_branch = (position, old.piece, new)
        self.track_one_cell(self.runs.branch_cell(self.run, variant, spec, case, forced,
                                                  output.id, listener), cell.key)

    # -- likelihood of the expected answer -------------------------------------------------

    def _likelihood_for(self, cell: OutputCell) -> None:
        if self.run is None or self.spec_for is None or cell.key is None:
            return
        variant_id, case_id = cell.key
        variant = next(v for v in self.run.variants if v.id == variant_id)
        case = next(c for c in self.cases if c.id == case_id)
        spec, inspection = self.spec_for(variant), self.inspection
        output = cell.output  # its prompt's retrieved context, if any, is scored with it
        call = self._call(f"likelihood {cell.key}",
                          lambda: inspection.likelihood(spec, case, output=output),
                          cell.show_likelihood)
        call.failed.connect(lambda message: cell.show_likelihood(
            f"The expected answer could not be scored: {message}"))

    # -- the prompt an output was generated from -------------------------------------------

    def _prompt_of(self, cell: OutputCell) -> None:
        output = cell.output
        if output is None:
            return
        inspection = self.inspection
        case_number = next((n for n, case in enumerate(self.cases, 1)
                            if case.id == output.case_id), None)
        title = f"case {case_number}" if case_number else "output"
        call = BackgroundCall(lambda: sent_prompt(inspection, output), self)
        call.succeeded.connect(lambda prompt: self._show_prompt(prompt, title))
        call.failed.connect(lambda message: self.banner.show_message(
            f"The prompt of this output cannot be shown: {message}"))
        call.start()

    def _show_prompt(self, prompt, title: str) -> None:
        self.prompt_dialog = PromptDialog(prompt, title, self)
        self.prompt_dialog.show()

    # -- first divergence ----------------------------------------------------------------

    def _divergence_later(self, dialog, a: Output, b: Output) -> None:
        """Fill the Diff dialog's token section: where the two outputs' tokens part."""
        inspection = self.inspection
        call = BackgroundCall(lambda: inspection.first_divergence(a, b), dialog)
        call.succeeded.connect(dialog.show_divergence)
        call.failed.connect(dialog.show_divergence_error)
        call.start()


def forced_prefix(trace: TokenTrace, position: int, token_id: int) -> tuple[int, ...]:
    """The forced tokens of a branch at ``position``: the tokens before it, then the choice."""
    return trace.ids[:position] + (token_id,)
