"""An experiment's report in the window: the ReportDocument as rich text with its plots as the
text document's own image resources (QTextDocument shows no data: URIs), and saving it as HTML
or Markdown. Both experiment dialogs use these."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument

SAVE_FILTERS = {".html": "HTML (*.html)", ".md": "Markdown (*.md)"}


def report_text_document(report, parent=None) -> tuple[QTextDocument, list[str]]:
    """The report as a QTextDocument, and the names of its figures' image resources
    (``figure:<n>-<name>.png``)."""
    document = QTextDocument(parent)
    names: list[str] = []

    def resource(number: int, figure) -> str:
        name = f"figure:{number}-{figure.name}.png"
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name),
                             QImage.fromData(figure.png, "PNG"))
        names.append(name)
        return name

    text = report.to_html(image_src=resource)
    # Qt's rich text knows no <figure>: as paragraphs the plot stays under its heading.
    text = re.sub(r"<figure>(.*?)<figcaption>(.*?)</figcaption></figure>",
                  r"<p>\1</p><p><i>\2</i></p>", text, flags=re.S)
    document.setHtml(text)
    return document, names


def save_report(report, path: str, suffix: str) -> str:
    """Write the report to ``path`` the user chose (``suffix`` added when it has no report
    suffix); the sentence to show: where it went, or why it could not be written."""
    if not path.lower().endswith((".html", ".htm", ".md", ".markdown")):
        path += suffix
    try:
        written = report.write(Path(path))
    except OSError as error:
        return f"Cannot write {path}: {error.strerror or error}."
    return f"Saved {written}."
