"""The token inspector in the grid, reached as a user reaches it: the cell's Tokens button, a
hover over a token, a click on it and on an alternative, Diff two cells, the cell's
"Likelihood of expected" action. Real bundled model, real store."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from workbench.core.prompts import FewShotExample
from workbench.core.runs import RunStatus
from workbench.core.sampling import SamplingSettings
from workbench.core.wording import counted

LEFT = Qt.MouseButton.LeftButton
WITH_TOP5 = SamplingSettings(logprobs=5)  # the Sampling column gets "--n-probs 5"


def compose_and_run(qtbot, window, variants, cases=(("Spain", "Madrid"),)):
    composer = window.composer
    composer.system_edit.setPlainText("Answer with the capital city only.")
    composer.examples.set_examples([FewShotExample("France", "Paris")])
    composer.template_edit.setPlainText("{{ country }}")
    composer.set_cases([({"country": c}, expected) for c, expected in cases])
    table = window.compare.variants
    table.table.setRowCount(0)
    for label, temperature, seed in variants:
        table.add_variant(label, temperature=temperature, seed=seed, max_tokens=12,
                          sampling=WITH_TOP5)
    with qtbot.waitSignal(window.compare.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(window.compare.run_button, LEFT)
    assert done.args[0] is RunStatus.DONE, [c.error.text() for c in window.compare.cells.values()]


def hover(flow, index: int) -> str:
    """What the tooltip says when the pointer rests on token ``index``."""
    point = flow.token_rect(index).center()
    QApplication.sendEvent(flow, QHelpEvent(QEvent.Type.ToolTip, point, flow.mapToGlobal(point)))
    return QToolTip.text()


def test_a_cell_switches_to_tokens_and_the_hover_shows_the_alternatives(main_window, qtbot):
    compose_and_run(qtbot, main_window, [("greedy", 0.0, 0)])
    cell = main_window.compare.grid.cellWidget(0, 0)
    qtbot.mouseClick(cell.tokens_button, LEFT)
    view = cell.token_view
    assert cell.body.currentWidget() is view
    qtbot.waitUntil(lambda: view.trace is not None, timeout=10_000)
    assert "".join(view.display_texts()) == cell.output.text  # the chips are the answer
    first = view.trace.tokens[0]
    assert first.logprob is not None and len(first.top) == 5
    tip = hover(view.flow, 0)
    assert f"id {first.token_id}" in tip and "Top 5:" in tip
    for alt in first.top:  # every alternative with its probability
        assert repr(alt.text) in tip and f"(id {alt.token_id})" in tip
    qtbot.mouseClick(cell.tokens_button, LEFT)  # and back to the text
    assert cell.body.currentWidget() is cell.text


def test_choosing_an_alternative_branches_the_cell(main_window, qtbot):
    compose_and_run(qtbot, main_window, [("greedy", 0.0, 0)])
    compare, store = main_window.compare, main_window.services.store
    cell = compare.grid.cellWidget(0, 0)
    original = cell.output
    qtbot.mouseClick(cell.tokens_button, LEFT)
    view = cell.token_view
    qtbot.waitUntil(lambda: view.trace is not None, timeout=10_000)
    qtbot.mouseClick(view.flow, LEFT, pos=view.flow.token_rect(0).center())
    top = view.trace.tokens[0].top
    assert len(view.alternative_buttons) == len(top)
    # The most likely token that is not the one generated, and whole characters.
    number, alt = next((n, a) for n, a in enumerate(top)
                       if a.token_id != original.token_trace.tokens[0].token_id
                       and a.text.strip() and "\ufffd" not in a.text)
    button = view.alternative_buttons[number]
    assert button.isEnabled()
    with qtbot.waitSignal(compare.run_finished, timeout=60_000):
        qtbot.mouseClick(button, LEFT)
    branched = cell.output
    assert branched.id != original.id and branched.branch_of == original.id
    assert branched.forced_tokens == (alt.token_id,)
    assert branched.text.startswith(alt.text)
    assert cell.branch_line.isVisible()
    assert cell.branch_line.text().startswith(
        f"branched at token 0 ({original.token_trace.tokens[0].text!r} → {alt.text!r})")
    stored = store.runs.output(branched.id)
    assert (stored.branch_of, stored.forced_tokens) == (original.id, (alt.token_id,))
    # The cell stayed in the token view: it shows the branch's tokens, the first one forced.
    qtbot.waitUntil(lambda: cell.trace_output_id == branched.id, timeout=10_000)
    assert view.trace.tokens[0].token_id == alt.token_id and view.trace.tokens[0].forced
    assert "forced (a branch" in hover(view.flow, 0)
    if len(view.trace.tokens) > 1:  # what the model generated after it was sampled
        assert "forced" not in hover(view.flow, 1)


def test_diff_two_cells_shows_the_first_divergence(main_window, qtbot):
    compose_and_run(qtbot, main_window, [("greedy", 0.0, 0), ("hot", 2.0, 5)])
    compare = main_window.compare
    greedy, hot = (compare.grid.cellWidget(0, c) for c in range(2))
    qtbot.mouseClick(greedy.pick, LEFT)
    qtbot.mouseClick(hot.pick, LEFT)
    qtbot.mouseClick(compare.diff_button, LEFT)
    section = compare.diff_dialog.divergence
    qtbot.waitUntil(lambda: "comparing" not in section.text(), timeout=60_000)
    a, b = greedy.output.token_trace, hot.output.token_trace
    shared = next((i for i, (x, y) in enumerate(zip(a.ids, b.ids)) if x != y),
                  min(len(a.ids), len(b.ids)))
    text = section.text()
    assert a.ids != b.ids  # greedy and temperature 2 (seeded) part early
    assert (f"the same {counted(shared, 'token')}; they first differ at token {shared}."
            if shared else "they differ from the first token on (token 0).") in text
    for label, trace in (("greedy", a), ("hot", b)):
        if shared < len(trace.tokens):
            token = trace.tokens[shared]
            assert f"<b>{label}</b>: <code>{token.text!r}" in text.replace("&#x27;", "'")
            assert "top 5 there" in text


def test_likelihood_of_the_expected_answer_in_the_cell(main_window, qtbot):
    compose_and_run(qtbot, main_window, [("greedy", 0.0, 0)],
                    cases=(("Spain", "Madrid"), ("Italy", None)))
    compare = main_window.compare
    cell, without = compare.grid.cellWidget(0, 0), compare.grid.cellWidget(1, 0)
    assert not without.likelihood_action.isEnabled()  # no expected answer, nothing to score
    assert cell.likelihood_action.isEnabled()
    cell.likelihood_action.trigger()
    qtbot.waitUntil(lambda: "perplexity" in cell.likelihood.text(), timeout=60_000)
    variant = compare.run.variants[0]
    expected = compare.inspection.likelihood(compare.spec_for(variant), compare.cases[0])
    line = cell.likelihood.text()
    assert f"NLL {expected.total_nll:.2f}" in line
    assert f"perplexity {expected.perplexity:.2f}" in line
    assert "least likely" in line and cell.likelihood.isVisible()


def test_an_earlier_run_shows_its_stored_tokens(main_window, qtbot):
    compose_and_run(qtbot, main_window, [("greedy", 0.0, 0)])
    compare = main_window.compare
    first_run, first = compare.run, compare.grid.cellWidget(0, 0).output
    compose_and_run(qtbot, main_window, [("greedy", 0.0, 0)], cases=(("Japan", "Tokyo"),))
    combo = compare.run_list.combo
    qtbot.waitUntil(lambda: combo.count() == 2 and compare.run_list.isEnabled(), timeout=10_000)
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # the user chooses the earlier run
    qtbot.waitUntil(lambda: compare.run.id == first_run.id, timeout=10_000)
    cell = compare.grid.cellWidget(0, 0)
    assert cell.output.id == first.id and cell.output.token_trace is None  # not read yet
    qtbot.mouseClick(cell.tokens_button, LEFT)
    view = cell.token_view
    qtbot.waitUntil(lambda: view.trace is not None, timeout=10_000)  # read off the GUI thread
    assert view.trace.ids == first.token_trace.ids
    assert view.trace.data == first.token_trace.data == first.text.encode("utf-8")
    for stored, generated in zip(view.trace.tokens, first.token_trace.tokens):
        assert abs(stored.logprob - generated.logprob) < 1e-6
        assert [a.token_id for a in stored.top] == [a.token_id for a in generated.top]
    assert "".join(view.display_texts()) == first.text
