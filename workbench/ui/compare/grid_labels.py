"""Texts of the comparison grid: row headers for cases, the line that ends a run."""

from __future__ import annotations

import textwrap

from ...core.cases import TestCase
from ...core.runs import RunStatus
from ...core.wording import counted

HEADER_LINES = 6  # at most, wrapped; the tooltip has the whole case


def filled_values(case: TestCase) -> str:
    """``question=…, tone=…``: the values the case gives. An empty one says nothing about the
    case (``context`` left for retrieval to fill, most often) and is left out."""
    return ", ".join(f"{k}={v}" for k, v in case.variables.items() if v)


def case_label(case: TestCase, number: int) -> str:
    values = filled_values(case)
    return f"{number}. {values[:60]}" if values else f"Case {number}"


def case_header(case: TestCase, number: int, columns: int = 26) -> str:
    """The row header: the case wrapped onto a few lines, then the expected answer."""
    values = filled_values(case) or f"Case {number}"
    lines = textwrap.wrap(f"{number}. {values}", columns) or [f"{number}."]
    if case.expected:
        lines += textwrap.wrap(f"→ expected: {case.expected}", columns)
    if len(lines) > HEADER_LINES:
        lines = lines[:HEADER_LINES - 1] + [lines[HEADER_LINES - 1][:columns - 1] + "…"]
    return "\n".join(lines)


def case_tooltip(case: TestCase, number: int) -> str:
    values = "\n".join(f"{k} = {v}" if v else f"{k}: empty" for k, v in
                       case.variables.items()) or "(no variables)"
    expected = f"\n\nExpected: {case.expected}" if case.expected else "\n\nNo expected answer."
    return f"Case {number}\n{values}{expected}"


def run_line(status: RunStatus, keys: list, outputs: dict) -> str:
    """'Run cancelled — 3 of 8 cells done, 5 cancelled': stopped cells are not failures."""
    total = len(keys)
    shown = [outputs.get(key) for key in keys]
    done = sum(1 for o in shown if o is not None and o.answered)
    failed = sum(1 for o in shown if o is not None and o.error and not o.cancelled)
    cancelled = total - done - failed if status is RunStatus.CANCELLED \
        else sum(1 for o in shown if o is not None and o.cancelled)
    parts = [f"{done:,} of {counted(total, 'cell')} done"]
    if failed:
        parts.append(f"{failed} failed")
    if cancelled:
        parts.append(f"{cancelled} cancelled")
    return f"Run {status.value} — " + ", ".join(parts)
