"""Counts with their noun: one, and every other number."""

from __future__ import annotations

from workbench.core.wording import counted, noun_for


def test_one_is_singular_and_every_other_count_plural():
    assert counted(1, "token") == "1 token"
    assert counted(0, "token") == "0 tokens"
    assert counted(2, "chunk") == "2 chunks"
    assert counted(1, "test case") == "1 test case"
    assert counted(1_024, "cell") == "1,024 cells"


def test_an_irregular_plural_is_given():
    assert counted(3, "match", "matches") == "3 matches"
    assert noun_for(1, "match", "matches") == "match"


def test_a_float_count_reads_like_a_number():
    assert counted(1.0, "token") == "1 token"
    assert counted(2.5, "token") == "2.5 tokens"


def test_a_slow_rate_keeps_its_tenths_and_a_fast_one_is_whole():
    from workbench.core.wording import rate

    assert rate(0.4) == "0.4 tok/s"  # whole numbers printed "0 tok/s" on a busy machine
    assert rate(9.96) == "10.0 tok/s"
    assert rate(61.24) == "61 tok/s"
