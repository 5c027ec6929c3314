"""The tune wizard's charts, on pyqtgraph: loss curves and the token-length histogram."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QSizePolicy

COLORS = {"loss": "#1f77b4", "eval_loss": "#d62728"}
LABELS = {"loss": "train loss", "eval_loss": "validation loss"}
CUT_COLOR, KEPT_COLOR = "#d62728", "#1f77b4"


def _style(plot: pg.PlotWidget, minimum: tuple[int, int], x_label: str, y_label: str) -> None:
    plot.setMinimumSize(*minimum)
    plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    plot.setMenuEnabled(False)  # pyqtgraph's own context menu means nothing to users here
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)


class LossPlot(pg.PlotWidget):
    """Train and validation loss against the step; the x axis spans the planned steps."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        _style(self, (320, 180), "step", "loss")
        self.addLegend(offset=(-10, 10))
        self.series: dict[str, list[tuple[int, float]]] = {"loss": [], "eval_loss": []}
        self._curves = {name: self.plot([], [], name=LABELS[name], symbol="o", symbolSize=4,
                                        pen=pg.mkPen(COLORS[name], width=2),
                                        symbolBrush=COLORS[name], symbolPen=None)
                        for name in self.series}
        self._total_steps = 0

    @property
    def total_steps(self) -> int:
        return self._total_steps

    @total_steps.setter
    def total_steps(self, steps: int) -> None:
        self._total_steps = steps
        if steps:
            self.setXRange(0, steps, padding=0.02)

    def add(self, name: str, step: int, value: float) -> None:
        points = self.series.setdefault(name, [])
        points.append((step, value))
        if name in self._curves:
            self._curves[name].setData([s for s, _ in points], [v for _, v in points])

    def reset(self) -> None:
        # not clear(): PlotWidget binds clear() to its PlotItem on each instance
        for name, points in self.series.items():
            points.clear()
            if name in self._curves:
                self._curves[name].setData([], [])


class Histogram(pg.PlotWidget):
    """Rows per token length; rows longer than the max length (cut) in red, the limit dashed."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        _style(self, (240, 110), "tokens per row", "rows")
        self.histogram = None

    def set_histogram(self, histogram) -> None:
        self.histogram = histogram
        self.getPlotItem().clear()
        if histogram is None or not any(histogram.counts):
            return
        edges, counts = histogram.edges, histogram.counts
        width = edges[1] - edges[0]
        brushes = [CUT_COLOR if edges[i] >= histogram.max_length else KEPT_COLOR
                   for i in range(len(counts))]
        self.addItem(pg.BarGraphItem(x0=list(edges[:-1]), width=width * 0.9,
                                     height=list(counts), brushes=brushes, pen=None))
        self.addItem(pg.InfiniteLine(histogram.max_length, angle=90,
                                     pen=pg.mkPen("#333333", style=pg.QtCore.Qt.DashLine)))
        cut = f", {histogram.over} cut" if histogram.over else ""
        self.setLabel("bottom", f"tokens per row (dashed: max length {histogram.max_length}{cut})")
