"""The keyboard goes back to the window a closed dialog was opened from.

A window manager activates the window beneath a dialog that closes. Where there is none (Xvfb,
Qt's offscreen platform) or it does not (some tiling managers), no window of the app was active
after a dialog closed: right after an export's file dialog, Ctrl+Q and every other key of the
window went nowhere until a click. This does what the window manager would have done, and only
then: when a window that had the focus hides and no other window has taken the focus.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

WATCHED = "workbench_focus_return"  # a property on each window already watched


class FocusReturn(QObject):
    """One per main window (``window``: where the keys go when the closed window's own
    parent window is gone)."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.previous: QWindow | None = None
        QGuiApplication.instance().focusWindowChanged.connect(self._focus_moved)

    def _focus_moved(self, focused: QWindow | None) -> None:
        """Platforms tell a closing differently: X11 hides the dialog and says nothing of the
        focus (its visibility is watched); the offscreen platform moves the focus to the
        hidden dialog, or to no window, after the dialog has gone."""
        if not isValid(self):
            return  # its window is gone; the application's signal may outlive it
        left, self.previous = self.previous, focused
        if focused is not None and not focused.isVisible():
            self._closed(focused)
        elif focused is None and left is not None and isValid(left) and not left.isVisible():
            self._closed(left)
        elif focused is not None and focused.transientParent() is not None \
                and not focused.property(WATCHED):
            focused.setProperty(WATCHED, True)
            focused.visibleChanged.connect(lambda visible, w=focused: self._hidden(w, visible))

    def _hidden(self, window: QWindow, visible: bool) -> None:
        # The connection (a lambda) is not undone when this object goes with its window.
        if not visible and isValid(self) and isValid(window):
            self._closed(window)

    def _closed(self, window: QWindow) -> None:
        parent = window.transientParent()
        # After the closing has been handled: a window manager may give the focus back itself.
        QTimer.singleShot(0, self, lambda: self._give_back(window, parent))

    def _give_back(self, closed: QWindow, parent: QWindow | None) -> None:
        focused = QGuiApplication.focusWindow()
        if focused is not None and focused is not closed and focused.isVisible():
            return  # another window has the keys
        if parent is not None and isValid(parent) and parent.isVisible():
            parent.requestActivate()
        elif isValid(self.window) and self.window.isVisible():
            self.window.activateWindow()
