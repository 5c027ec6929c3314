"""An improve job's report (``workbench improve --out``): the verdict, both pass rates on the
held-out cases with their intervals and the paired test, the plot of training (and, at the
end, held-out) pass rate against generations spent, the start and the winner side by side,
and every candidate with its lineage."""

from __future__ import annotations

from ...core.diff import version_text
from ...store import Store
from ..experiments.report_doc import ReportDocument, new_figure, render_png
from .results import ImproveOutcome


def build_report(store: Store, outcome: ImproveOutcome) -> ReportDocument:
    document = ReportDocument(f"Improve job {outcome.job.id[:8]}")
    evidence = outcome.evidence
    if evidence is None:
        document.paragraph(f"The job is {outcome.status}: no held-out comparison yet.")
    else:
        sentence = evidence.sentence()
        document.paragraph(
            f"{evidence.verdict.capitalize()}. {sentence[:1].upper()}{sentence[1:]} (exact McNemar "
            f"on {evidence.units} paired held-out units). "
            + ("The winner is offered." if outcome.significant else
               "The best candidate is shown below, labelled as such; it is not offered."))
        document.table(["", "passed", "pass rate", "95% interval"], [
            ["start", f"{evidence.start_passed}/{evidence.units}",
             f"{evidence.start_rate or 0:.0%}",
             f"{evidence.start_interval.low:.0%} – {evidence.start_interval.high:.0%}"],
            ["winner" if outcome.significant else "best (not significant)",
             f"{evidence.winner_passed}/{evidence.units}", f"{evidence.winner_rate or 0:.0%}",
             f"{evidence.winner_interval.low:.0%} – {evidence.winner_interval.high:.0%}"]],
            caption="Held-out cases (never seen by the search)")
    spent = outcome.spent
    document.paragraph(
        f"{spent.search_generations} generations in the search, "
        f"{spent.held_out_generations} in the held-out comparison, {spent.proposer_calls} "
        f"proposer calls, {spent.wall_s:.0f} s. Split (seed {outcome.split.seed}): "
        f"{len(outcome.split.training)} training and {len(outcome.split.held_out)} held-out "
        "cases.")
    if outcome.history:
        document.figure(_plot(outcome), "Pass rate against generations spent", "improve-plot")
    start = store.prompts.version(outcome.start.version_id)
    best = store.prompts.version(outcome.best.version_id)
    document.heading("Start and " + ("winner" if outcome.significant else "best candidate"))
    document.table(["start", outcome.best.slot],
                   [[version_text(start.system_prompt, start.examples, start.user_template),
                     version_text(best.system_prompt, best.examples, best.user_template)]])
    document.heading("Candidates")
    rows = []
    for candidate in outcome.candidates:
        training = candidate.training()
        held = candidate.held_out()
        rows.append([candidate.slot, candidate.change, candidate.critique or "",
                     f"{training.passed}/{training.total}" if training else "–",
                     f"{held.passed}/{held.total}" if held else "–"])
    document.table(["candidate", "change", "critique", "training", "held-out"], rows)
    return document


def _plot(outcome: ImproveOutcome) -> bytes:
    figure, axes = new_figure(6.4, 3.6)
    points = [p for p in outcome.history if p.training_rate is not None]
    axes.step([p.generations for p in points], [p.training_rate for p in points], where="post",
              label="best on training")
    held = [p for p in outcome.history if p.held_out_rate is not None]
    if held and outcome.evidence is not None:
        axes.scatter([held[-1].generations], [outcome.evidence.start_rate or 0], color="C2",
                     marker="s", s=90, zorder=3, label="start on held-out")
        axes.scatter([held[-1].generations], [held[-1].held_out_rate], color="C1", zorder=4,
                     label=("winner" if outcome.significant else "best") + " on held-out")
    axes.set_xlabel("generations spent")
    axes.set_ylabel("pass rate")
    axes.set_ylim(-0.02, 1.02)
    axes.legend(loc="upper left")
    return render_png(figure)
