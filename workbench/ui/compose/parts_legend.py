"""The prompt's parts as every breakdown in the composer shows them: one colour and name per
part, one legend, one explanation (the accounting itself is services/context.py's)."""

from __future__ import annotations

from ...services.context import (
    EXAMPLES,
    INPUT,
    PARTS,
    RETRIEVED,
    SYSTEM,
    TEMPLATE,
    parts_explained,
)

PART_COLOURS = {SYSTEM: "#5c6bc0", EXAMPLES: "#26a69a", INPUT: "#ffa726", RETRIEVED: "#ab47bc",
                TEMPLATE: "#9e9e9e"}
ANSWER_COLOUR = "#cfd8dc"  # the context bar's room kept for the answer


def swatch(colour: str) -> str:
    return f'<span style="color:{colour}">■</span>'


def parts_legend(counts: dict[str, int]) -> str:
    """"■ system 17 · ■ examples 44 · ■ input 15 · ■ template 47" (retrieved only when the
    prompt holds some): the parts in display order, adding up to the prompt's tokens."""
    # The swatch stays with its name when the line wraps.
    return " · ".join(f"{swatch(PART_COLOURS[part])}&nbsp;{part} {counts[part]:,}"
                      for part in PARTS if counts[part] or part != RETRIEVED)


def parts_tooltip(extra: str = "") -> str:
    """What each part is (the same words wherever a breakdown is shown), then ``extra``."""
    return parts_explained() + (f"\n{extra}" if extra else "")
