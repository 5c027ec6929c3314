"""The installed PySide6 keeps Python's reference counts: PySide6 6.12.0 under Python 3.11
dropped a reference to None on every void Qt call (setText, QTimer.start, …) and to True/False
when a Python slot returned one, so a long session aborted in none_dealloc / bool_dealloc.
pyproject.toml caps PySide6 below 6.12 for this; this test tells when a release is safe."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_none_alive(qtbot):
    label, timer = QLabel(), QTimer()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
        timer.start(10_000)
        label.setObjectName("a")
    timer.stop()
    # Other threads may take or drop a few references meanwhile; a leak is 1,500.
    assert abs(sys.getrefcount(None) - before) < 100


def test_python_slots_returning_a_bool_keep_it_alive(qtbot):
    class Source(QObject):
        fired = Signal()

    source = Source()
    source.fired.connect(lambda: True)
    before = sys.getrefcount(True)
    for _ in range(500):
        source.fired.emit()
    assert abs(sys.getrefcount(True) - before) < 100
