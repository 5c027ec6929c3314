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


def rate(tokens_per_second: float) -> str:
    """A decoding rate a reader can trust at any speed: "0.4 tok/s" on a slow machine (whole
    numbers would print 0), "61 tok/s" where a tenth is noise."""
    return f"{tokens_per_second:.1f} tok/s" if tokens_per_second < 10 else \
        f"{tokens_per_second:.0f} tok/s"
