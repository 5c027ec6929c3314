"""The grid's checks: pass/fail badges from the evaluation lab, repeats counted in a cell,
Re-check, and the pass line (a part of ComparePanel, kept apart to keep each file about one
thing)."""

from __future__ import annotations

from ...core.cases import CaseSet, TestCase
from ...core.evaluation import EvalResult
from ...core.runs import Output, Run
from ...services.evaluation.pass_rates import pass_counts
from .grid_parts import PanelBase

MAX_REPEATS = 20


class GridChecks(PanelBase):
    """Mixed into ComparePanel: checks each output as it arrives when the cases have
    assertions, and shows stored verdicts for stored runs."""

    def _stored_case_set(self, case_set_id: str | None) -> CaseSet | None:
        if not case_set_id or self.evaluation is None:
            return None
        return self.history.case_set(case_set_id)

    def _case_set_of_run(self) -> CaseSet | None:
        if self.case_set is None and self.run is not None:
            self.case_set = self._stored_case_set(self.run.case_set_id)
        return self.case_set

    def _watch(self, case_set: CaseSet | None, cases: list[TestCase]):
        """An evaluating listener around the bridge, or None when nothing is to be checked."""
        if self.evaluation is None or case_set is None or not any(
                case_set.assertions_for(case) for case in cases):
            return None
        return self.evaluation.watch(case_set, self.bridge)

    def _check_values(self, case_set: CaseSet | None, cases: list[TestCase]) -> None:
        """Before a run: a check whose value cannot be rendered for a case (a variable the
        case lacks) is named with the case, and nothing runs (a WorkbenchError, which the
        window shows). A single cell generated again is not refused: its check fails, saying
        why."""
        if self.evaluation is not None and case_set is not None:
            self.evaluation.check_cases(case_set, cases)

    def _forget_checks(self) -> None:
        self.results.clear()
        self.repeat_outputs.clear()
        self._repeating.clear()
        self.pass_line.hide()

    def _verdict_of(self, output: Output):
        result = self.results.get(output.id)
        return result.verdict if result is not None else None

    def _on_evaluated(self, result: EvalResult) -> None:
        if self.run is None or result.run_id != self.run.id:
            return
        self.results[result.output_id] = result
        key = (result.variant_id, result.case_id)
        cell = self.cells.get(key)
        if cell is not None and cell.output is not None and cell.output.id == result.output_id:
            cell.show_verdict(result.verdict)
        self._show_repeats(key)
        self.figures_later()
        self._fit_timer.start()

    def _show_repeats(self, key: tuple[str, str]) -> None:
        cell = self.cells.get(key)
        if cell is not None:
            repeats = self.repeat_outputs.get(key, {})
            cell.show_repeats([repeats[r] for r in sorted(repeats)], self.results)

    def _show_results(self, run_id: str, results: list[EvalResult]) -> None:
        """Stored verdicts (after the run's select-best judgements, a Re-check, or for a run
        opened later) replace what the cells showed."""
        if self.run is None or self.run.id != run_id:
            return
        self.results = {result.output_id: result for result in results}
        for key, cell in self.cells.items():
            if cell.output is not None:
                cell.show_verdict(self._verdict_of(cell.output))
            self._show_repeats(key)
        self.refresh_pass_line()
        self._set_running(self.running)
        self.fit_rows()
        self.checks_done.emit(run_id)

    def _verdicts_later(self, run: Run) -> None:
        history = self.history
        self._call("verdicts", lambda: history.verdicts(run.id),
                   lambda results: self._show_results(run.id, results))

    def _finish_checks(self, listener, run_id: str) -> None:
        """select-best judgements and the run's summary, off the GUI thread (judges run)."""
        evaluation, history = self.evaluation, self.history

        def finish() -> list[EvalResult]:
            evaluation.finish(listener, run_id)
            return history.verdicts(run_id)

        call = self._call("finish", finish,
                          lambda results: self._show_results(run_id, results))
        call.failed.connect(lambda _message: self._set_running(self.running))

    def recheck(self) -> None:
        """Check the shown run's stored outputs again against the assertions as they are now
        (the window's table, saved first), in the background; the badges follow."""
        if self.run is None or self.evaluation is None or self.running:
            return
        run, evaluation, history = self.run, self.evaluation, self.history
        case_set = self.case_set_for() if self.case_set_for is not None else None
        if case_set is None or case_set.id != run.case_set_id:
            case_set = self._stored_case_set(run.case_set_id)
        if case_set is None:
            self.banner.show_message("This run has no test cases to check against.", "info")
            return
        self.case_set = case_set

        def work() -> list[EvalResult]:
            evaluation.check_cases(case_set)  # a value no case can render: said, not checked
            evaluation.reevaluate(run, case_set, history.versions(run))
            return history.verdicts(run.id)

        self.recheck_button.setEnabled(False)
        self.state.setText("Re-checking the outputs…")
        call = self._call("recheck", work, lambda results: self._rechecked(run.id, results))
        call.failed.connect(lambda _message: self._set_running(self.running))

    def _rechecked(self, run_id: str, results: list[EvalResult]) -> None:
        self._show_results(run_id, results)
        if self.run is not None and self.run.id == run_id:
            passed = sum(r.passed for r in self.results.values())
            self.state.setText(f"Re-checked: {passed} of {len(self.results)} outputs pass")

    def refresh_pass_line(self) -> None:
        """One line over the grid: each variant's passes among its checked cells, counted as
        the Evaluation tab and ``workbench eval`` count them (pass_rates.py: one verdict per
        cell, branches beside it, not in it)."""
        if self.run is None:
            return
        counts = pass_counts([v.id for v in self.run.variants], self.results.values())
        parts = []
        for number, variant in enumerate(self.run.variants, 1):
            count = counts[variant.id]
            if count.total or count.branches:
                parts.append(count.line(variant.label or f"Variant {number}"))
        self.pass_line.setText(" · ".join(parts))
        self.pass_line.setVisible(bool(parts))
