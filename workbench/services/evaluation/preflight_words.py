"""How the preflight names tests in its messages: by description or number, a few at most."""

from __future__ import annotations

from collections.abc import Sequence

from ...core.suites import Suite, SuiteTest
from .suite_yaml import short

SHOWN_TESTS = 3  # tests named in one problem; more are counted ("and 2 more")


def tests_phrase(suite: Suite, numbers: Sequence[int]) -> str:
    """``in test "france"``, ``in tests 3, 5, 6``, ``in tests 3, 5 (and 2 more)``, ``in every
    test``: tests by number (1-based), named by their description when they have one."""
    if len(numbers) == len(suite.tests) > 1:
        return "in every test"
    words = []
    for number in numbers:
        description = suite.tests[number - 1].description if 0 < number <= len(suite.tests) \
            else ""
        words.append(f'"{short(description)}"' if description else str(number))
    return f"in test{'s' if len(words) > 1 else ''} {listed(words)}"


def listed(words: Sequence[str]) -> str:
    """``a, b, c`` — or ``a, b (and 5 more)`` when there are more than ``SHOWN_TESTS``."""
    shown = list(words) if len(words) <= SHOWN_TESTS else list(words[:SHOWN_TESTS - 1])
    more = f" (and {len(words) - len(shown)} more)" if len(shown) < len(words) else ""
    return ", ".join(shown) + more


def test_name(test: SuiteTest, number: int) -> str:
    """As the file reader names a test in its messages."""
    return f'test "{test.description}"' if test.description else f"test {number}"
