"""The Improve dialog's live plot, on pyqtgraph as the evaluation view's charts: the best
candidate's training pass rate against generations spent, one point per scored candidate (a
step line: the best so far holds until a better one is found), and at the end the held-out pass
rates of the start and the best (with their Wilson intervals) at the generations the whole job
spent. The legend is rich text for a label beside the chart (``legend_html``): inside it would
cover the held-out points at the right edge."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QSizePolicy

TRAINING_COLOR, BEST_COLOR, START_COLOR = "#1f77b4", "#ff7f0e", "#7f7f7f"
PERCENT_TICKS = [[(v, f"{v:.0%}") for v in (0, .25, .5, .75, 1)], []]


class ImprovePlot(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMinimumSize(360, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMenuEnabled(False)  # pyqtgraph's own context menu means nothing to users here
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.2)
        self.setLabel("bottom", "generations spent")
        self.setLabel("left", "pass rate")
        self.getAxis("left").setTicks(PERCENT_TICKS)
        self.points: list[tuple[int, float]] = []  # (generations, best training rate)
        self.held_out: dict[str, tuple[int, float]] = {}  # "start"/"best" -> (x, rate)
        self.steps = self.plot([], [], pen=pg.mkPen(TRAINING_COLOR, width=2))
        self.training = self.plot([], [], pen=None, symbol="o", symbolSize=6,
                                  symbolBrush=TRAINING_COLOR, symbolPen=None)
        self._held_items: list = []
        self.setYRange(0, 1, padding=0.04)

    def add_point(self, generations: int, training_rate: float | None) -> None:
        """One scored candidate: the best training rate so far (None: nothing scored on every
        training case yet, no point)."""
        if training_rate is None:
            return
        self.points.append((generations, training_rate))
        self._draw()

    def _draw(self) -> None:
        xs, ys = [x for x, _ in self.points], [y for _, y in self.points]
        self.training.setData(xs, ys)
        step_x, step_y = [], []
        for x, y in self.points:
            if step_y:  # the previous best holds up to here
                step_x.append(x)
                step_y.append(step_y[-1])
            step_x.append(x)
            step_y.append(y)
        self.steps.setData(step_x, step_y)
        self._fit()

    def set_points(self, points) -> None:
        """A whole history (``PlotPoint``s): a finished job's, or one rebuilt from the store. Its
        end point (with the held-out rate) is drawn by ``show_held_out``."""
        self.reset()
        for point in points:
            if point.held_out_rate is None:
                self.add_point(point.generations, point.training_rate)

    def show_held_out(self, generations: int, evidence) -> None:
        """The start's and the best's held-out pass rates with their intervals, at the end."""
        for item in self._held_items:
            self.removeItem(item)
        self._held_items.clear()
        self.held_out = {}
        for key, rate, interval, color in (
                ("start", evidence.start_rate, evidence.start_interval, START_COLOR),
                ("best", evidence.winner_rate, evidence.winner_interval, BEST_COLOR)):
            if rate is None:
                continue
            self.held_out[key] = (generations, rate)
            x = np.array([float(generations)])
            whiskers = pg.ErrorBarItem(x=x, y=np.array([rate]),
                                       top=np.array([interval.high - rate]),
                                       bottom=np.array([rate - interval.low]),
                                       beam=max(1.0, generations * 0.02), pen=pg.mkPen(color))
            point = self.plot([generations], [rate], pen=None, symbol="s"
                              if key == "best" else "t", symbolSize=11, symbolBrush=color,
                              symbolPen=pg.mkPen("#333333"))
            self.addItem(whiskers)
            self._held_items += [whiskers, point]
        self._fit()

    def reset(self) -> None:
        self.points.clear()
        self._draw()
        for item in self._held_items:
            self.removeItem(item)
        self._held_items.clear()
        self.held_out = {}

    def _fit(self) -> None:
        xs = [x for x, _ in self.points] + [x for x, _ in self.held_out.values()]
        self.setXRange(0, max(xs + [1]), padding=0.05)
        self.setYRange(0, 1, padding=0.04)



def legend_html(best_label: str = "") -> str:
    """What the marks mean, as rich text for a QLabel (the held-out marks once there are
    some: ``best_label`` names the best, "winner" or "best candidate")."""
    parts = [(TRAINING_COLOR, "&#9679;", "best so far, training cases")]
    if best_label:
        parts += [(START_COLOR, "&#9660;", "start, held-out cases (95% interval)"),
                  (BEST_COLOR, "&#9632;", f"{best_label}, held-out cases (95% interval)")]
    return "&nbsp;&nbsp;&nbsp;".join(
        f'<span style="color:{color}; font-size:large">{mark}</span>&nbsp;{text}'
        for color, mark, text in parts)
