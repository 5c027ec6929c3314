"""A cell's scorer figures as one line, each coloured by what it says.

Scorers (plugins) answer on a 0..1 scale, 1 the best: a 0.00 is a miss and reads red, a 1.00
reads green, anything between stays neutral. A figure outside 0..1 is some other measure
(a length, a count) and is not coloured, since its good direction is unknown.
"""

from __future__ import annotations

import html

LINE_COLOUR = "#37474f"  # the line itself: neutral, so no colour is claimed for all figures
MISS_COLOUR, HIT_COLOUR = "#c62828", "#2e7d32"


def figure_colour(value: float) -> str | None:
    if value == 0.0:  # a miss (also -0.0)
        return MISS_COLOUR
    if value == 1.0:
        return HIT_COLOUR
    return None


def score_line(scores: dict[str, float]) -> str:
    """Rich text: ``Scores: exact match <red>0.00</red> · contains expected <green>1.00</green>``,
    or "" for no scores."""
    figures = []
    for name, value in scores.items():
        colour = figure_colour(value)
        text = f"{value:.2f}"
        shown = f'<span style="color:{colour}; font-weight:bold">{text}</span>' if colour \
            else text
        figures.append(f"{html.escape(name)} {shown}")
    return f"Scores: {' · '.join(figures)}" if figures else ""
