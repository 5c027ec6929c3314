"""The evaluation view's charts, on pyqtgraph: points with interval whiskers (pass rates, ranking
strengths) and the trend of pass rates over a test set's runs."""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QSizePolicy

from ...core.evaluation import EvalRun

# matplotlib's tab10: distinct, colour-blind friendlier than Qt's named colours
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
TICK_CHARS = 24  # a longer variant label wraps onto a second line under its point, then ends in …
MAX_TREND_TICKS = 10  # more runs than this: only every n-th is labelled, so labels never collide


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def tick_text(label: str, width: int = TICK_CHARS) -> str:
    """The label on at most two lines (the tables show it whole)."""
    return "\n".join(textwrap.wrap(label, width, max_lines=2, placeholder=" …")) or label


def tick_width(count: int) -> int:
    """Characters per tick line: narrower as the items multiply, so neighbours never touch."""
    return max(8, min(TICK_CHARS, 72 // max(1, count)))


def axis_texts(labels: Sequence[str]) -> list[str] | None:
    """The labels as tick texts, or None when shortening them would make two look alike
    ("variant number …" twice): then the caller numbers the items instead."""
    texts = [tick_text(label, tick_width(len(labels))) for label in labels]
    return texts if len(set(texts)) == len(set(labels)) else None


class _Chart(pg.PlotWidget):
    """A chart that asks for its minimum size and takes whatever more its layout gives: in a
    scrolled page a larger wish would only add a scroll bar."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.minimumSize()


def _style(plot: pg.PlotWidget, minimum: tuple[int, int], x_label: str, y_label: str) -> None:
    plot.setMinimumSize(*minimum)
    plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    plot.setMenuEnabled(False)  # pyqtgraph's own context menu means nothing to users here
    plot.setMouseEnabled(x=False, y=False)  # a fixed picture: dragging only loses the points
    plot.hideButtons()
    plot.showGrid(x=False, y=True, alpha=0.2)
    if x_label:  # an empty label would still take a line of height
        plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" on a log-strength reads as noise


class IntervalPlot(_Chart):
    """One point per item with its interval as whiskers; the items' labels are the x ticks.

    ``percent`` shows the y axis as 0–100 % over a fixed 0..1 range (pass rates); otherwise the
    range follows the whiskers and a dashed line marks ``baseline`` (a ranking's average)."""

    def __init__(self, y_label: str, *, percent: bool = False, baseline: float | None = None,
                 parent=None):
        super().__init__(parent, background="w")
        _style(self, (320, 200), "", y_label)
        self.percent, self.baseline = percent, baseline
        self.points = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#333333", width=1))
        empty = np.array([], dtype=float)  # ErrorBarItem does arithmetic on what it is given
        self.whiskers = pg.ErrorBarItem(x=empty, y=empty, top=empty, bottom=empty, beam=0.18,
                                        pen=pg.mkPen("#444444", width=2))
        self.addItem(self.whiskers)
        self.addItem(self.points)
        if baseline is not None:
            self.addItem(pg.InfiniteLine(baseline, angle=0,
                                         pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine)))
        if percent:
            self.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, .25, .5, .75, 1)],
                                           []])
        self.labels: list[str] = []
        self.ticks: list[str] = []  # what is written under each point

    def set_points(self, labels: Sequence[str], values: Sequence[float | None],
                   intervals: Sequence[tuple[float, float] | None],
                   colors: Sequence[str], ticks: Sequence[str] | None = None) -> None:
        """Items without a value (nothing evaluated) keep their tick but get no point.
        ``ticks``: what to write under each point (default: the labels, wrapped)."""
        self.labels = list(labels)
        xs, ys, tops, bottoms, brushes = [], [], [], [], []
        for x, (value, interval, color) in enumerate(zip(values, intervals, colors)):
            if value is None:
                continue
            low, high = interval if interval is not None else (value, value)
            xs.append(float(x))
            ys.append(float(value))
            tops.append(max(0.0, high - value))
            bottoms.append(max(0.0, value - low))
            brushes.append(pg.mkBrush(color))
        self.points.setData(x=xs, y=ys, brush=brushes)
        self.whiskers.setData(x=np.array(xs), y=np.array(ys), top=np.array(tops),
                              bottom=np.array(bottoms))
        if ticks is None:
            ticks = [tick_text(label, tick_width(len(labels))) for label in labels]
        self.ticks = list(ticks)
        bottom = self.getAxis("bottom")
        bottom.setTicks([list(enumerate(ticks))])
        # pyqtgraph sizes the axis for one line of tick text; wrapped labels need room for two
        lines = max((text.count("\n") + 1 for text in ticks), default=1)
        font = bottom.style.get("tickFont") or self.font()
        bottom.setHeight(QFontMetrics(font).lineSpacing() * lines + 14)
        self.setXRange(-0.5, max(len(labels), 1) - 0.5, padding=0.05)
        if self.percent:
            self.setYRange(0, 1, padding=0.04)
        else:
            reach = [abs(y + t) for y, t in zip(ys, tops)] + [abs(y - b)
                                                                for y, b in zip(ys, bottoms)]
            span = max(reach, default=1.0) or 1.0
            self.setYRange(-span, span, padding=0.1)  # symmetric around the average

    def reset(self) -> None:
        self.set_points([], [], [], [])


def legend_html(colors: dict[str, str]) -> str:
    """A line of coloured marks with the variant labels, as rich text for a QLabel."""
    return "&nbsp;&nbsp;&nbsp;".join(
        f'<span style="color:{color}; font-size:large">&#9679;</span>&nbsp;{html.escape(label)}'
        for label, color in colors.items())


def trend_of(history: Sequence[EvalRun]) -> tuple[list[EvalRun], dict[str, list[float | None]]]:
    """The runs that have a summary (oldest first) and, per variant label, its pass rate in each
    of them (None where a run had no such variant or evaluated none of its outputs)."""
    runs = [run for run in history if run.summary.get("variants")]
    series: dict[str, list[float | None]] = {}
    for index, run in enumerate(runs):
        for entry in run.summary["variants"]:
            rates = series.setdefault(str(entry.get("label", "")), [None] * len(runs))
            rates[index] = _rate(entry)
    return runs, series


def _rate(entry: dict) -> float | None:
    rate = entry.get("pass_rate", entry.get("rate"))
    if rate is not None:
        return float(rate)
    total = entry.get("total") or 0
    return float(entry.get("passed", 0)) / total if total else None


class TrendPlot(_Chart):
    """Pass rate per variant label across runs (x = run number; a gap where a run lacks a
    variant) and, optionally, the shown run marked by a dotted line. The legend is
    ``legend_html`` in a label beside the chart: inside it would cover the newest points."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        _style(self, (480, 180), "evaluated run, oldest first (dotted: the run shown above)",
               "pass rate")
        self.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, .25, .5, .75, 1)], []])
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.marker: pg.InfiniteLine | None = None

    def set_series(self, run_labels: Sequence[str], series: dict[str, list[float | None]],
                   colors: dict[str, str], current: int | None = None) -> None:
        """``series``: variant label → one pass rate (or None) per run, in run order."""
        self.reset()
        xs = [float(i + 1) for i in range(len(run_labels))]
        for label, rates in series.items():
            color = colors.get(label, "#333333")
            ys = [math.nan if rate is None else rate for rate in rates]
            self.lines[label] = self.plot(
                xs, ys, connect="finite", symbol="o", symbolSize=8,
                pen=pg.mkPen(color, width=2), symbolBrush=color, symbolPen=None)
        step = max(1, math.ceil(len(run_labels) / MAX_TREND_TICKS))
        ticks = [(x, run_labels[i]) for i, x in enumerate(xs)
                 if i % step == 0 or i == len(xs) - 1]
        self.getAxis("bottom").setTicks([ticks, [(x, "") for x in xs]])
        if current is not None:
            self.marker = pg.InfiniteLine(current + 1, angle=90,
                                          pen=pg.mkPen("#999999", style=Qt.PenStyle.DotLine))
            self.addItem(self.marker)
        self.setXRange(0.5, max(len(xs), 1) + 0.5, padding=0.02)
        self.setYRange(0, 1, padding=0.04)

    def reset(self) -> None:
        for line in self.lines.values():
            self.removeItem(line)
        self.lines.clear()
        if self.marker is not None:
            self.removeItem(self.marker)
            self.marker = None
