"""The grounding check: planted fabricated and misattributed quotes are all caught."""

from __future__ import annotations

import pytest

from workbench.core.grounding import (
    FABRICATED,
    MISATTRIBUTED,
    SUPPORTED,
    check_grounding,
    extract_quotes,
    find_citations,
)
from workbench.core.retrieval import Retrieved


def chunk(number: int, text: str, source: str) -> Retrieved:
    return Retrieved(chunk_id=number, document_id=f"d{number}", source=f"/docs/{source}",
                     title=source, position=number - 1, text=text, score=1.0, rank=number)


CHUNKS = [
    chunk(1, "Refunds are paid within 14 days of the return reaching our warehouse.",
          "refunds.md"),
    chunk(2, "The night shift starts at 22:00 and\nends at 06:00 on weekdays.", "handbook.md"),
    chunk(3, "Badges must be worn visibly at all times inside the building.", "security.md"),
]


def statuses(answer: str) -> list[str]:
    return [c.status for c in check_grounding(answer, CHUNKS).checks]


def test_supported_quotes_with_and_without_citations():
    answer = ('The policy says "Refunds are paid within 14 days" [1]. Also, “The night shift '
              'starts at 22:00 and ends at 06:00” [source: handbook.md], and "Badges must be '
              'worn visibly" is a rule.')
    report = check_grounding(answer, CHUNKS)
    assert [c.status for c in report.checks] == [SUPPORTED] * 3
    assert report.passed and report.share_supported == 1.0
    assert report.summary() == "3 quotes: 3 supported"


def test_planted_fabricated_and_misattributed_quotes_are_all_caught():
    answer = (
        'Per the handbook, "The night shift starts at 22:00" [2]. '  # supported
        '"Refunds are paid within 30 days" [1]. '  # fabricated: one word changed
        '"Badges must be worn visibly at all times" [1]. '  # misattributed: it is in [3]
        '“Visitors may bring pets on Fridays” [3]. '  # fabricated: in no chunk
        'As [source: security.md] puts it, "Refunds are paid within 14 days".\n'  # misattributed
        '> ends at 06:00 on weekdays. [3]\n'  # blockquote, misattributed (it is in [2])
    )
    report = check_grounding(answer, CHUNKS)
    got = [(c.quote.text[:20], c.status) for c in report.checks]
    assert [c.status for c in report.checks] == [
        SUPPORTED, FABRICATED, MISATTRIBUTED, FABRICATED, MISATTRIBUTED, MISATTRIBUTED], got
    assert (report.supported, report.misattributed, report.fabricated) == (1, 3, 2)
    assert not report.passed
    assert report.summary() == "6 quotes: 1 supported · 3 misattributed · 2 fabricated"
    misattributed = report.checks[2]
    assert misattributed.found_in == (3,) and misattributed.cited == (1,)
    assert "cited [1]; found in [3]" in misattributed.describe()


def test_case_counts_but_whitespace_and_quote_style_do_not():
    assert statuses('"refunds are paid within 14 days" [1]') == [FABRICATED]
    assert statuses('"The  night shift\n starts at 22:00 and ends" [2]') == [SUPPORTED]
    curly = [chunk(1, "He said “stop the line now” twice.", "log.md")]
    report = check_grounding('"He said "', curly)  # too short to be a claim: not checked
    assert report.checks == ()
    report = check_grounding('“said \u201cstop the line now\u201d twice” [1]', curly)
    assert [c.status for c in report.checks] == [SUPPORTED]


def test_ellipsis_and_trailing_punctuation():
    assert statuses('"Refunds are paid … of the return" [1]') == [SUPPORTED]
    assert statuses('"Refunds are paid within 14 days," it says [1].') == [SUPPORTED]
    assert statuses('"Refunds are paid … of the parcel" [1]') == [FABRICATED]


def test_citation_to_a_missing_chunk_is_reported_and_misattributes():
    report = check_grounding('"Badges must be worn visibly" [7]', CHUNKS)
    assert [c.status for c in report.checks] == [MISATTRIBUTED]
    assert [c.label for c in report.unknown_citations] == ["[7]"]
    assert "naming no chunk" in report.details()


def test_citation_lists_ranges_and_source_names():
    numbers = [c.number for c in find_citations("see [1, 3] and [2-3]") if c.number]
    assert numbers == [1, 3, 2, 3]
    assert statuses('"Badges must be worn visibly" [1, 3]') == [SUPPORTED]
    assert statuses('"Badges must be worn visibly" [source: security]') == [SUPPORTED]
    assert statuses('"Badges must be worn visibly" [source: refunds.md]') == [MISATTRIBUTED]


def test_no_quotes_passes_and_short_quotes_are_ignored():
    report = check_grounding('It is "fine" and the answer is 14 days [1].', CHUNKS)
    assert report.checks == () and report.passed
    assert report.summary() == "no quotes to check"
    assert [q.text for q in extract_quotes('a "b c d" e')] == ["b c d"]


@pytest.mark.parametrize("answer", ["", "[1]", '"unterminated quote here'])
def test_odd_answers_do_not_break_it(answer):
    assert check_grounding(answer, CHUNKS).fabricated == 0
