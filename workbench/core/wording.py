"""A count with its noun, singular for exactly one: "1 token", "2 tokens", "1,024 chunks".

The window and the CLI write every count of tokens, chunks, cases and cells through
``counted``, so no message says "1 tokens".
"""

from __future__ import annotations


def noun_for(number: float, noun: str, plural: str | None = None) -> str:
    """``noun`` for exactly one, else its plural (``noun + "s"`` unless given)."""
    return noun if number == 1 else (plural or noun + "s")


def counted(number: float, noun: str, plural: str | None = None) -> str:
    """``number`` (thousands separated) and its noun: ``counted(1, "token")`` is "1 token"."""
    shown = f"{number:,}" if isinstance(number, int) else f"{number:,g}"
    return f"{shown} {noun_for(number, noun, plural)}"
