"""The end of an improve job as rich text: the verdict and the evidence sentence (both held-out
pass rates with their Wilson intervals, the exact McNemar p), and the start against the best
candidate as a word diff (the history panel's diff, ``core.diff``)."""

from __future__ import annotations

import html

from ...core.diff import similarity, version_text, word_diff
from ...core.prompts import PromptVersion
from ...services.evaluation.statistics import describe_comparison
from ..compare.diff_view import diff_html

SIGNIFICANT_COLOR, NOT_SIGNIFICANT_COLOR = "#1b5e20", "#8a4b00"


def best_label(outcome) -> str:
    """"winner" when it is offered, else "best candidate" (the evidence does not carry it)."""
    return "winner" if outcome.winner is not None else "best candidate"


def evidence_html(outcome) -> str:
    evidence = outcome.evidence
    if evidence is None:
        return html.escape(f"The job is {outcome.status}: the held-out comparison has not run, "
                           "so there is no evidence yet. Resume it to finish.")
    color = SIGNIFICANT_COLOR if outcome.significant else NOT_SIGNIFICANT_COLOR
    label = best_label(outcome)
    rates = (f"start {_rate(evidence.start_passed, evidence.units, evidence.start_interval)}"
             f" · {label} ({html.escape(outcome.best.slot)}) "
             f"{_rate(evidence.winner_passed, evidence.units, evidence.winner_interval)}"
             f" · exact McNemar p = {evidence.test.p_value:.3g}")
    offer = ("The winner is offered: Use this version saves it as the newest version."
             if outcome.significant else
             "The best candidate is shown, labelled as such: it is not offered as better.")
    # The evidence's own sentence calls the best "the winner" even when it is not offered.
    sentence = describe_comparison("the start", f"the {label}", evidence.test, evidence.alpha,
                                   "held-out units").rstrip(".")
    return (f'<b style="color:{color}">{html.escape(evidence.verdict.capitalize())}</b> — '
            f"{html.escape(sentence)}.<br>Held-out cases (never seen by the "
            f"search), 95% Wilson intervals: {rates}.<br>{html.escape(offer)}")


def _rate(passed: int, units: int, interval) -> str:
    share = passed / units if units else 0.0
    return (f"<b>{passed}/{units} ({share:.0%})</b> "
            f"[{interval.low:.0%}, {interval.high:.0%}]")


def diff_text(start: PromptVersion, best: PromptVersion, label: str) -> str:
    """The start against the best candidate, word by word, headed by how alike they are."""
    old = version_text(start.system_prompt, start.examples, start.user_template)
    new = version_text(best.system_prompt, best.examples, best.user_template)
    head = (f'<span style="background:#ffcdd2">removed</span> from the start, '
            f'<span style="background:#c8e6c9">added</span> in the {html.escape(label)} — '
            f"{similarity(old, new):.0%} alike")
    body = diff_html(word_diff(old, new)) if old != new else "(the same prompt)"
    return f"<p>{head}</p><p>{body}</p>"
