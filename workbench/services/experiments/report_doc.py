"""A report as a list of blocks, written as HTML (PNGs embedded) or Markdown (PNGs beside it).

Both experiments (few-shot vs fine-tune, quantization lab) build one of these; the window shows
the HTML, the CLI writes either. Plots are rendered by matplotlib without a window (Agg).
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    headers: list[str]
    rows: list[list[object]]
    caption: str = ""


@dataclass
class Figure:
    png: bytes
    caption: str
    name: str  # file stem for Markdown


@dataclass
class ReportDocument:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, headers: list[str], rows: list[list[object]], caption: str = "") -> None:
        self.blocks.append(("table", Table(headers, rows, caption)))

    def figure(self, png: bytes, caption: str, name: str = "") -> None:
        stem = name or re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")[:40] or "figure"
        self.blocks.append(("figure", Figure(png, caption, stem)))

    def tables(self) -> list[Table]:
        return [block for kind, block in self.blocks if kind == "table"]

    # -- writing ---------------------------------------------------------------------------

    def to_html(self, image_src=None) -> str:
        """A standalone page (PNGs embedded as data: URIs). ``image_src(number, figure)``: the
        src to use instead (a viewer that shows figures as its own resources)."""
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_h(self.title)}"
                 f"</title><style>{_CSS}</style></head><body><h1>{_h(self.title)}</h1>"]
        figures = 0
        for kind, block in self.blocks:
            if kind == "h2":
                parts.append(f"<h2>{_h(block)}</h2>")
            elif kind == "p":
                parts.append(f"<p>{_h(block)}</p>")
            elif kind == "table":
                head = "".join(f"<th>{_h(c)}</th>" for c in block.headers)
                body = "".join("<tr>" + "".join(f"<td>{_h(_cell(c))}</td>" for c in row) + "</tr>"
                               for row in block.rows)
                caption = f"<caption>{_h(block.caption)}</caption>" if block.caption else ""
                parts.append(f"<table>{caption}<thead><tr>{head}</tr></thead>"
                             f"<tbody>{body}</tbody></table>")
            elif kind == "figure":
                if image_src is None:
                    src = "data:image/png;base64," + base64.b64encode(block.png).decode("ascii")
                else:
                    src = image_src(figures, block)
                figures += 1
                parts.append(f"<figure><img alt='{_h(block.caption)}' src='{src}'>"
                             f"<figcaption>{_h(block.caption)}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def to_markdown(self, image_folder: Path | None = None, link_prefix: str = "") -> str:
        """Markdown; figures are written into ``image_folder`` (skipped when None)."""
        lines = [f"# {self.title}", ""]
        for kind, block in self.blocks:
            if kind == "h2":
                lines += [f"## {block}", ""]
            elif kind == "p":
                lines += [str(block), ""]
            elif kind == "table":
                if block.caption:
                    lines += [f"*{block.caption}*", ""]
                lines.append("| " + " | ".join(_md(c) for c in block.headers) + " |")
                lines.append("|" + "---|" * len(block.headers))
                lines += ["| " + " | ".join(_md(_cell(c)) for c in row) + " |"
                          for row in block.rows]
                lines.append("")
            elif kind == "figure" and image_folder is not None:
                image_folder.mkdir(parents=True, exist_ok=True)
                (image_folder / f"{block.name}.png").write_bytes(block.png)
                lines += [f"![{block.caption}]({link_prefix}{block.name}.png)", ""]
        return "\n".join(lines)

    def write(self, path: Path) -> Path:
        """``.html`` → one self-contained file; ``.md`` → the file and its PNGs beside it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".md", ".markdown"):
            folder = path.with_name(path.stem + "-figures")
            path.write_text(self.to_markdown(folder, f"{folder.name}/"), encoding="utf-8")
        else:
            path.write_text(self.to_html(), encoding="utf-8")
        return path


def render_png(figure) -> bytes:
    """A matplotlib Figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def new_figure(width: float = 6.4, height: float = 4.0):
    """A matplotlib Figure and its axes drawn by Agg: no pyplot, so no global backend, no
    window, safe in a worker thread of the GUI process."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


def _md(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;"
        "text-align:left}th{background:#eee}caption{text-align:left;font-style:italic}"
        "figure img{max-width:100%}")
