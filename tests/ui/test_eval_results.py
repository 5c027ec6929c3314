"""The Evaluation tab: a real report (build_report over hand-made verdicts) shown as the
pass-rate table and plot, the comparison sentences, the per-assertion table, the ranking, the
judge's agreement and the trend; in the window, the tab shows a stored run's evaluation."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from statsmodels.stats.proportion import proportion_confint

from tests.store.conftest import save_outputs
from tests.ui.conftest import make_window
from workbench.core.evaluation import (
    Assertion,
    AssertionResult,
    EvalResult,
    EvalRun,
    combine,
    failed_output,
)
from workbench.core.ratings import Preference, Rating
from workbench.core.retrieval import Retrieved
from workbench.core.retrieval_scores import score_retrieval
from workbench.core.runs import Output, Run, RunStatus, Variant
from workbench.core.sampling import SamplingSettings
from workbench.services.evaluation.eval_service import report_for_run, summary_of
from workbench.services.evaluation.report import build_report
from workbench.ui.evaluate import eval_results
from workbench.ui.evaluate.eval_results import EvalResultsView

CONTAINS = Assertion("contains", value="Paris")
SHORT = Assertion("max-length", value=40, metric="short answer")
RUBRIC = Assertion("llm-rubric", value="Names the capital and nothing else.", provider="smol")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def hit(rank: int, source: str) -> Retrieved:
    return Retrieved(rank, "d", f"/docs/{source}", source, 0, "text", 1.0, rank)


def verdict(passes: tuple[bool, ...], rubric: float | None = None):
    """A real verdict from assertion results: contains, then max-length, then the rubric."""
    results = [AssertionResult(CONTAINS, passes[0], float(passes[0]),
                               "" if passes[0] else "'Paris' is missing"),
               AssertionResult(SHORT, passes[1], float(passes[1]))]
    if rubric is not None:
        results.append(AssertionResult(RUBRIC, rubric >= 0.5, rubric, "the judge's reason"))
    return combine(results)


def result(variant_id: str, case: int, repeat: int, found) -> EvalResult:
    return EvalResult("run-1", f"out-{variant_id}-{case}-{repeat}", variant_id, f"case-{case}",
                      repeat, found)


# Four cases × two repeats. A: 3 of 8 pass; B: 7 of 8; C: 2 of 8 with one failed generation.
PATTERNS = {
    "a": [(True, True), (True, False), (False, True), (True, True),
          (False, False), (True, True), (True, False), (False, True)],
    "b": [(True, True)] * 7 + [(True, False)],
    "c": [(True, True), (False, True), None, (True, False),
          (False, False), (True, True), (False, True), (True, False)],
}
LABELS = [("a", "Terse prompt"), ("b", "Few-shot prompt"), ("c", "Tuned adapter")]


def hand_made_results() -> list[EvalResult]:
    results = []
    for variant_id, pattern in PATTERNS.items():
        for index, passes in enumerate(pattern):
            case, repeat = divmod(index, 2)
            found = failed_output("The model host stopped.") if passes is None else \
                verdict(passes)
            results.append(result(variant_id, case, repeat, found))
    return results


def preferences_b_best() -> list[Preference]:
    """The judge prefers B over both others on every case, and A over C on most."""
    prefs = []
    for case in range(4):
        prefs.append(Preference(f"out-a-{case}-0", f"out-b-{case}-0", "b", rater="judge:smol"))
        prefs.append(Preference(f"out-c-{case}-0", f"out-b-{case}-0", "b", rater="judge:smol"))
        prefs.append(Preference(f"out-a-{case}-0", f"out-c-{case}-0",
                                "a" if case else "tie", rater=""))
    return prefs


def history(labels: list[str], runs: int = 4) -> list[EvalRun]:
    """Evaluated runs of one test set, oldest first, with the summary the runner keeps; the
    second run had no third variant."""
    made = []
    for index in range(runs):
        variants = [{"label": label, "passed": 10 + 2 * index + offset, "total": 20,
                     "pass_rate": (10 + 2 * index + offset) / 20}
                    for offset, label in enumerate(labels) if not (index == 1 and offset == 2)]
        made.append(EvalRun(f"run-{index}", repeats=3, summary={"variants": variants},
                            created_at=T0 + timedelta(days=index)))
    return made


@pytest.fixture
def view(qtbot):
    shown = EvalResultsView()
    qtbot.addWidget(shown)
    shown.resize(1600, 1000)
    shown.show()
    return shown


def wilson_text(passed: int, total: int) -> str:
    low, high = proportion_confint(passed, total, alpha=0.05, method="wilson")
    return f"{low:.0%}–{high:.0%}"


def test_pass_rate_table_has_a_row_per_variant_with_its_numbers(view):
    report = build_report(LABELS, hand_made_results())
    view.show_report(report, [])
    table = view.pass_table
    rows = [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]
    assert rows == [
        ["Terse prompt", "3/8", "38%", wilson_text(3, 8), "0.62", "0"],
        ["Few-shot prompt", "7/8", "88%", wilson_text(7, 8), "0.94", "0"],
        ["Tuned adapter", "2/8", "25%", wilson_text(2, 8), "0.50", "1"],
    ]
    assert view.pages.currentIndex() == 1


def test_plot_has_one_point_per_variant_with_its_interval_as_whiskers(view):
    report = build_report(LABELS, hand_made_results())
    view.show_report(report, [])
    plot = view.pass_plot
    xs, ys = plot.points.getData()
    assert list(xs) == [0.0, 1.0, 2.0]
    assert list(ys) == pytest.approx([3 / 8, 7 / 8, 2 / 8])
    whiskers = plot.whiskers.opts
    for i, (passed, total) in enumerate([(3, 8), (7, 8), (2, 8)]):
        low, high = proportion_confint(passed, total, method="wilson")
        assert whiskers["top"][i] == pytest.approx(high - passed / total)
        assert whiskers["bottom"][i] == pytest.approx(passed / total - low)
    assert plot.labels == ["Terse prompt", "Few-shot prompt", "Tuned adapter"]
    assert plot.ticks == plot.labels  # short enough to stand whole under the points
    assert plot.getViewBox().viewRange()[1][0] <= 0 and plot.getViewBox().viewRange()[1][1] >= 1


def test_each_pair_gets_its_comparison_sentence(view):
    report = build_report(LABELS, hand_made_results())
    view.show_report(report, [])
    shown = view.comparisons.paragraphs
    assert len(shown) == 3  # A–B, A–C, B–C
    for comparison, text in zip(report.comparisons, shown):
        assert text.startswith(comparison.sentence)
        assert comparison.score_sentence in text
    assert "Few-shot prompt" in shown[0] and "Terse prompt" in shown[0]
    assert view.comparisons.toPlainText().splitlines()[0] == shown[0]  # what the user reads


def test_one_variant_says_there_is_nothing_to_compare(view):
    only_a = [r for r in hand_made_results() if r.variant_id == "a"]
    view.show_report(build_report(LABELS[:1], only_a), [])
    assert view.comparisons.toPlainText() == eval_results.ONE_VARIANT


def test_labels_too_alike_to_shorten_are_numbered_under_the_points(view):
    labels = [(f"v{i}", f"SmolLM2 135M instruct, temperature 0.{i}") for i in range(6)]
    results = [replace(r, variant_id=variant_id, output_id=f"{variant_id}-{r.output_id}")
               for variant_id, _ in labels for r in hand_made_results() if r.variant_id == "a"]
    view.show_report(build_report(labels, results), [])
    assert view.pass_plot.ticks == ["1", "2", "3", "4", "5", "6"]
    table = view.pass_table
    assert table.item(4, 0).text() == "5. SmolLM2 135M instruct, temperature 0.4"
    assert view.assertion_table.horizontalHeaderItem(5).text() == "5"


def test_assertion_table_has_a_row_per_assertion_and_a_column_per_variant(view):
    report = build_report(LABELS, hand_made_results())
    view.show_report(report, [])
    table = view.assertion_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Assertion", "Terse prompt", "Few-shot prompt", "Tuned adapter"]
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["contains",
                                                                          "short answer"]
    # contains: A 5/8; B 8/8; C 4/7 (its failed generation was never checked)
    assert table.item(0, 1).text() == "62%  (5/8)"
    assert table.item(0, 2).text() == "100%  (8/8)"
    assert table.item(0, 3).text() == "57%  (4/7)"
    assert table.item(0, 3).toolTip() == f"95% interval {wilson_text(4, 7)}"
    assert table.item(1, 2).text() == "88%  (7/8)"


def test_ranking_shows_strengths_best_first_with_whiskers(view):
    report = build_report(LABELS, hand_made_results(), preferences=preferences_b_best())
    view.show_report(report, [])
    assert view.ranking_pages.currentWidget() is view.ranking_plot
    plot = view.ranking_plot
    assert plot.labels == ["Few-shot prompt", "Terse prompt", "Tuned adapter"]
    xs, ys = plot.points.getData()
    assert len(xs) == 3 and ys[0] > ys[1] > ys[2]
    assert all(top > 0 and bottom > 0 for top, bottom in zip(plot.whiskers.opts["top"],
                                                           plot.whiskers.opts["bottom"]))
    assert "from 12 pairwise judgements" in view.ranking_note.text()
    assert "Few-shot prompt: won 8 of 8" in view.ranking_plot.toolTip()


def test_without_pairwise_judgements_the_ranking_says_how_to_get_one(view):
    view.show_report(build_report(LABELS, hand_made_results()), [])
    assert view.ranking_pages.currentWidget() is view.ranking_empty
    assert view.ranking_empty.isVisible()
    assert "Blind compare" in view.ranking_empty.text()
    assert "select-best" in view.ranking_empty.text()


def test_judge_agreement_line_appears_with_ratings_and_rubric_scores(view):
    rubric = [0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.2, 0.6]
    results = [result("a", i // 2, i % 2, verdict((True, True), rubric[i])) for i in range(8)]
    stars = [1, 2, 3, 4, 5, 5, 1, 3]
    ratings = [Rating(r.output_id, s) for r, s in zip(results, stars)]
    report = build_report(LABELS[:1], results, ratings=ratings)
    view.show_report(report, [])
    assert view.agreement.isVisible()
    assert f"Kendall τ = {report.judge_agreement.tau:.2f}" in view.agreement.text()
    assert "over 8 outputs" in view.agreement.text()

    view.show_report(build_report(LABELS, hand_made_results()), [])
    assert not view.agreement.isVisible()


def test_trend_has_a_line_per_variant_and_a_point_per_run(view):
    labels = [label for _, label in LABELS]
    runs = history(labels)
    view.show_report(build_report(LABELS, hand_made_results()), runs, current_run_id="run-3")
    assert view.trend_plot.isVisible() and not view.trend_empty.isVisible()
    assert all(label in view.trend_legend.text() for label in labels)
    lines = view.trend_plot.lines
    assert list(lines) == labels
    for offset, label in enumerate(labels):
        xs, ys = lines[label].getData()
        assert list(xs) == [1.0, 2.0, 3.0, 4.0]
        expected = [(10 + 2 * i + offset) / 20 for i in range(4)]
        if offset == 2:
            assert math.isnan(ys[1])  # the second run had no such variant: a gap
            expected[1] = ys[1]
        assert list(ys) == pytest.approx(expected, nan_ok=True)
    assert view.trend_plot.marker is not None and view.trend_plot.marker.value() == 4
    assert "3 repeats of each case" in view.heading.text()


def test_a_single_run_explains_how_to_get_a_trend(view):
    runs = history([label for _, label in LABELS], runs=1)
    view.show_report(build_report(LABELS, hand_made_results()), runs)
    assert view.trend_pages.currentWidget() is view.trend_empty
    assert "run the comparison again" in view.trend_empty.text()
    assert view.trend_plot.lines == {}


def test_retrieval_scores_get_a_row_per_variant_and_no_box_without_retrieval(view):
    report = build_report(LABELS, hand_made_results())
    view.show_report(report, [])
    assert not view.retrieval_box.isVisible()  # nothing retrieved: no empty table
    rows = [("b", "Few-shot prompt", "b/case-0", ("handbook.md",),
             [hit(1, "refunds.md"), hit(2, "handbook.md")]),
            ("b", "Few-shot prompt", "b/case-1", ("refunds.md",),
             [hit(1, "refunds.md"), hit(2, "security.md")]),
            ("c", "Tuned adapter", "c/case-0", ("ferry.md",), [hit(1, "refunds.md")])]
    scores = score_retrieval(LABELS, [(v, c, g, r) for v, _, c, g, r in rows])
    view.show_report(replace(report, retrieval=scores), [])
    assert view.retrieval_box.isVisible()
    table = view.retrieval_table
    shown = [[table.item(r, c).text() for c in range(table.columnCount())]
             for r in range(table.rowCount())]
    assert shown == [["Few-shot prompt", "2", "2", "1.00", "0.75"],
                     ["Tuned adapter", "1", "1", "0.00", "0.00"]]
    assert table.horizontalHeaderItem(3).text() == "Recall@k"


def test_clear_shows_what_to_do(view):
    view.show_report(build_report(LABELS, hand_made_results()), [])
    view.clear(eval_results.NOT_EVALUATED)
    assert view.pages.currentWidget() is view.message
    assert view.message.isVisible() and "Add assertions" in view.message.text()
    assert view.report is None


# -- in the window --------------------------------------------------------------------------

def stored_evaluation(services) -> tuple[str, list[str]]:
    """A session as a finished, evaluated comparison leaves it: a prompt version, two cases,
    two variants × two cases × two repeats of outputs, their verdicts, one judge preference,
    and an earlier evaluated run of the same cases for the trend. Returns the session id and
    the variant labels."""
    store = services.store
    workspace = services.workspace.create_session("Capitals")
    version = services.workspace.save_version(workspace.prompt.id, "Answer with the capital.",
                                              [], "{{ country }}", parent_id=None)
    case_set = services.workspace.save_cases(workspace.case_set,
                                             [({"country": "France"}, "Paris"),
                                              ({"country": "Peru"}, "Lima")])
    cases = case_set.cases
    labels = ["greedy", "warm"]
    rng = random.Random(7)
    for number in range(2):  # an earlier run, then the one the grid shows
        run_id = f"run-{number}-{workspace.session.id[:8]}"
        variants = tuple(Variant(run_id, version.id, "/models/smol.gguf",
                                 SamplingSettings(temperature=0.7 * i, seed=1), label=label,
                                 position=i) for i, label in enumerate(labels))
        run = store.runs.add(Run(workspace.session.id, f"run {number + 1}", case_set.id,
                                 RunStatus.RUNNING, variants, id=run_id,
                                 created_at=T0 + timedelta(hours=number)))
        outputs = [Output(run.id, variant.id, case.id, text=rng.choice(["Paris", "Lima", "?"]),
                          repeat=repeat)
                   for variant in variants for case in cases for repeat in range(2)]
        save_outputs(store, outputs)
        store.runs.set_status(run.id, RunStatus.DONE)
        results = [EvalResult(run.id, o.id, o.variant_id, o.case_id, o.repeat,
                              verdict((o.text != "?", True)))
                   for o in outputs]
        store.evaluations.add_eval_run(EvalRun(run.id, repeats=2,
                                               created_at=T0 + timedelta(hours=number)))
        store.evaluations.add_results(results)
        store.evaluations.set_summary(run.id, summary_of(report_for_run(store, run.id)))
    store.ratings.prefer(Preference(outputs[0].id, outputs[4].id, "a", rater="judge:smol"))
    return workspace.session.id, labels


def click_tab(qtbot, window, title: str) -> None:
    tab_bar = window.tabs.tabBar()
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == title)
    qtbot.mouseClick(tab_bar, Qt.MouseButton.LeftButton, pos=tab_bar.tabRect(index).center())
    assert window.tabs.currentIndex() == index


def test_the_evaluation_tab_shows_the_shown_runs_report_when_clicked(qtbot, app_services):
    _, labels = stored_evaluation(app_services)
    window = make_window(qtbot, app_services, wait_for_model=False)
    shown_run = window.compare.run
    assert shown_run is not None and shown_run.name == "run 2"
    view = window.eval_results
    assert view.report is None  # nothing computed while the tab is not looked at

    click_tab(qtbot, window, "Evaluation")
    qtbot.waitUntil(lambda: view.report is not None, timeout=30_000)

    expected = app_services.store.evaluations.results(shown_run.id)
    table = view.pass_table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == labels
    for row, variant in enumerate(shown_run.variants):
        mine = [r for r in expected if r.variant_id == variant.id]
        assert table.item(row, 1).text() == f"{sum(r.passed for r in mine)}/{len(mine)}"
    assert view.ranking_pages.currentWidget() is view.ranking_plot  # the judge's preference
    assert list(view.trend_plot.lines) == labels
    assert all(len(line.getData()[0]) == 2 for line in view.trend_plot.lines.values())
    assert view.pass_table.isVisible()
    assert "from 1 pairwise judgement " in view.ranking_note.text()

    # Back on the grid the user prefers the other variant's answer in a blind comparison;
    # coming back to the tab shows the ranking with it.
    click_tab(qtbot, window, "Compose && compare")
    greedy, warm = shown_run.variants
    first, second = (next(o for o in window.compare.outputs.values() if o.variant_id == v.id)
                     for v in (greedy, warm))
    window.compare.record_preference(first.id, second.id, "b")
    click_tab(qtbot, window, "Evaluation")
    qtbot.waitUntil(lambda: "from 2 pairwise judgements" in view.ranking_note.text(),
                    timeout=30_000)
    window.close()


def test_a_run_without_verdicts_says_how_to_evaluate_it(qtbot, app_services):
    workspace = app_services.workspace.create_session("Unchecked")
    version = app_services.workspace.save_version(workspace.prompt.id, "Hi.", [], "{{ x }}",
                                                  parent_id=None)
    case_set = app_services.workspace.save_cases(workspace.case_set, [({"x": "1"}, None)])
    run = app_services.store.runs.add(Run(workspace.session.id, "plain", case_set.id,
                                          RunStatus.DONE, (Variant("r", version.id, "/m.gguf",
                                                                   label="only"),), id="r"))
    app_services.store.runs.add_output(Output(run.id, run.variants[0].id,
                                              case_set.cases[0].id, text="hello"))
    window = make_window(qtbot, app_services, wait_for_model=False)
    click_tab(qtbot, window, "Evaluation")
    view = window.eval_results
    qtbot.waitUntil(lambda: view.message.text() == eval_results.NOT_EVALUATED, timeout=30_000)
    assert view.pages.currentWidget() is view.message
    window.close()


def test_a_checked_run_in_the_grid_reaches_the_tab_and_the_next_run_joins_the_trend(
        main_window, qtbot):
    """End to end with the real model: assertions typed into the cases' dialog, Run clicked,
    the Evaluation tab opened; a second run started from the grid, the user already on the
    Evaluation tab when its checks end, shows up there as the second point of the trend."""
    from tests.ui.test_eval_grid import NEVER, compose, give_assertion, run_and_check

    compose(main_window)
    give_assertion(qtbot, main_window, 0, "contains", NEVER)  # fails: no capital contains it
    give_assertion(qtbot, main_window, 1, "contains", NEVER, negate=True)  # passes
    run_and_check(qtbot, main_window)
    view = main_window.eval_results
    click_tab(qtbot, main_window, "Evaluation")
    qtbot.waitUntil(lambda: view.report is not None, timeout=30_000)
    assert [view.pass_table.item(0, c).text() for c in range(3)] == ["greedy", "1/2", "50%"]
    assert view.trend_pages.currentWidget() is view.trend_empty  # one run: no trend yet

    first_run = main_window.compare.run
    click_tab(qtbot, main_window, "Compose && compare")
    with qtbot.waitSignal(main_window.compare.checks_done, timeout=120_000):
        qtbot.mouseClick(main_window.compare.run_button, Qt.MouseButton.LeftButton)
        click_tab(qtbot, main_window, "Evaluation")
    assert main_window.compare.run.id != first_run.id
    qtbot.waitUntil(lambda: list(view.trend_plot.lines) == ["greedy"], timeout=30_000)
    xs, ys = view.trend_plot.lines["greedy"].getData()
    assert list(xs) == [1.0, 2.0] and list(ys) == [0.5, 0.5]
