"""The Settings page's *Where*: this machine (a trainer process) or a Ray cluster.

The job's config, data preview and estimate are the same either way; on Ray the estimate
speaks of memory per worker and the effective batch. Without the ``ray`` extra the Ray choice
is shown, disabled, with how to get it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
)

from ...services.tuning import TuneWhere

THIS_MACHINE, RAY = "This machine", "A Ray cluster"
INSTALL = ("Ray is not installed: <code>pip install 'prompt-workbench[ray]'</code> "
           "(or <code>make test</code>) adds it.")


class WhereBox(QGroupBox):
    changed = Signal()

    def __init__(self, ray_version: str | None):
        super().__init__("Where")
        self.place = QComboBox()
        self.place.addItems([THIS_MACHINE, RAY])
        self.address = QLineEdit(placeholderText="ray://HOST:10001, http://HOST:8265 (Ray Jobs), "
                                                 "HOST:6379 — empty: a Ray started here")
        self.address.setToolTip("ray://HOST:10001: the Ray Client; http://HOST:8265: Ray Jobs "
                                "(needs shared checkpoint storage); HOST:6379: the head itself, "
                                "from a machine of the cluster. Empty: a Ray started here.")
        self.workers = QSpinBox(minimum=1, maximum=1024, value=2)
        self.gpus = QDoubleSpinBox(minimum=0, maximum=16, singleStep=0.5, decimals=1)
        self.gpus.setSpecialValueText("none (CPU)")
        self.storage = QLineEdit(placeholderText="checkpoints: a shared folder or s3://… "
                                                 "(empty: the job's folder)")
        self.note = QLabel(wordWrap=True)
        form = QFormLayout(self)
        form.addRow("Train on", self.place)
        self.ray_rows = (("Address", self.address), ("Workers", self.workers),
                         ("GPUs per worker", self.gpus), ("Checkpoints", self.storage))
        for label, widget in self.ray_rows:
            form.addRow(label, widget)
        form.addRow(self.note)
        if ray_version is None:  # the choice is there, off, saying how to turn it on
            self.place.model().item(1).setEnabled(False)
            self.note.setText(INSTALL)
        else:
            self.note.setText(f"Ray {ray_version}: data-parallel over the workers with Ray "
                              f"Train; the adapter comes back to this library.")
        self.place.currentIndexChanged.connect(self._show)
        for signal in (self.address.textChanged, self.workers.valueChanged,
                       self.gpus.valueChanged, self.storage.textChanged):
            signal.connect(lambda *_: self.changed.emit())
        self._show()

    def _show(self, *_) -> None:
        on_ray = self.place.currentText() == RAY
        layout: QFormLayout = self.layout()
        for _label, widget in self.ray_rows:
            layout.setRowVisible(widget, on_ray)
        self.changed.emit()

    def where(self) -> TuneWhere:
        if self.place.currentText() != RAY:
            return TuneWhere()
        return TuneWhere(place="ray", address=self.address.text().strip(),
                         workers=self.workers.value(), gpus_per_worker=self.gpus.value(),
                         storage=self.storage.text().strip())
