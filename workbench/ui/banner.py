"""A dismissible message strip: errors shown in place, not in popups; in the main window it
floats over the content (BannerOverlay) so showing it never moves a control."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

STYLES = {
    "error": "background:#fdecea; color:#611a15; border:1px solid #f5c2c0;",
    "info": "background:#e8f4fd; color:#0d3c61; border:1px solid #b6dcf7;",
}


class Banner(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self.overlay: BannerOverlay | None = None  # set when it floats over a widget
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        self.label.setText(text)
        self.setStyleSheet(f"Banner {{ {STYLES[kind]} border-radius:4px; }}")
        self.show()
        if self.overlay is not None:
            self.overlay.place()

    def dismiss(self) -> None:
        self.hide()
        if self.overlay is not None:
            self.overlay.place()  # the banners below move up

    @property
    def text(self) -> str:
        return self.label.text() if not self.isHidden() else ""


class BannerOverlay(QObject):
    """Banners that float over the top of ``target`` (below ``anchor``, e.g. a tab bar)
    instead of sitting in a layout: a message appearing must not move the controls under
    it, or the user's next click lands on the wrong button. Several banners stack."""

    MARGIN = 8

    def __init__(self, target: QWidget, anchor: QWidget | None = None):
        super().__init__(target)
        self.target, self.anchor = target, anchor
        self.banners: list[Banner] = []
        target.installEventFilter(self)

    def add(self, banner: Banner) -> Banner:
        banner.setParent(self.target)
        banner.hide()
        banner.overlay = self
        self.banners.append(banner)
        return banner

    def eventFilter(self, _watched, event) -> bool:  # noqa: N802 - Qt's name
        # Only the target's resize: filtering the banners' own events crashed the interpreter
        # at exit (Qt delivered them while Python was tearing the wrappers down).
        if event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def place(self) -> None:
        anchor = self.anchor
        y = anchor.geometry().bottom() + 1 if anchor is not None and anchor.isVisible() else 0
        width = max(0, self.target.width() - 2 * self.MARGIN)
        for banner in self.banners:
            if banner.isHidden():
                continue
            height = max(banner.sizeHint().height(), banner.heightForWidth(width)
                         if banner.hasHeightForWidth() else 0)
            banner.setGeometry(self.MARGIN, y, width, height)
            banner.raise_()
            y += height + 4
