"""Scorers: ROUGE-L F1 against the expected output, and 'is valid JSON'.

Both measure with ``workbench.core.text_metrics``, as the ``rouge-l`` and ``is-json`` checks
do, so a score and a check of one output agree."""

from __future__ import annotations

from workbench.core.text_metrics import fenced_json, json_value, looks_like_json
from workbench.core.text_metrics import rouge_l as rouge_l_f1
from workbench.plugins import hookimpl
from workbench.plugins.contributions import Scorer

__version__ = "1.0"


def rouge_l(text: str, expected: str | None) -> float | None:
    """F1 of the longest common word subsequence (Lin, 2004); no score without a reference."""
    return None if not expected else rouge_l_f1(text, expected)


def json_valid(text: str, expected: str | None) -> float | None:
    """1.0 if the output (or a ```json fenced block in it) parses as JSON, else 0.0; no score
    (None) for plain prose when JSON was not asked for, where a 0 would only be noise."""
    body = fenced_json(text)
    if body is None and not text.lstrip().startswith(("{", "[")) and not looks_like_json(
            expected):
        return None
    return float(json_value(text if body is None else body)[1] is None)


@hookimpl
def register_scorers(register):
    register(Scorer("ROUGE-L", rouge_l))
    register(Scorer("valid JSON", json_valid))
