"""Reading files into text for a document set: txt, md, html, pdf; folders walked.

A file that cannot be read becomes a ``FileProblem`` with the reason in words (encrypted PDF,
broken PDF, empty, not text in a known encoding, unknown kind) and the rest goes on. Files are
read in blocks so a huge file reports progress in bytes and is hashed while it is read.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ...core.retrieval import FileProblem

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
BLOCK = 1 << 20  # bytes read at a time (progress steps of a huge file)

Progress = Callable[[int, int], None]  # (bytes read, file size)


@dataclass(frozen=True)
class ReadFile:
    path: str
    title: str
    text: str
    sha256: str
    size: int


class Unreadable(Exception):
    """Why a file is skipped (its message is the reason shown to the user)."""


def walk(paths: list[str | Path]) -> tuple[list[Path], list[FileProblem]]:
    """The files under ``paths`` (folders walked, sorted, hidden entries skipped), and the
    paths that do not exist."""
    files: list[Path] = []
    missing: list[FileProblem] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            for root, folders, names in os.walk(path):
                folders[:] = sorted(f for f in folders if not f.startswith("."))
                files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(FileProblem(str(path), "no such file or folder"))
    return [f.resolve() for f in files], missing


def read_bytes(path: Path, progress: Progress | None = None) -> tuple[bytes, str]:
    """The file's bytes and SHA-256, read in blocks with progress."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    blocks: list[bytes] = []
    done = 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
            blocks.append(block)
            done += len(block)
            if progress is not None:
                progress(done, size)
    return b"".join(blocks), digest.hexdigest()


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM of UTF-8 or UTF-16 is honoured); anything else is refused, not guessed:
    a wrong guess would index mojibake."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise Unreadable(f"not valid {encoding} text (byte {error.start})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"not UTF-8 text (undecodable byte 0x{data[error.start]:02x} at "
                         f"offset {error.start}); save it as UTF-8") from None


class _HTMLText(HTMLParser):
    SKIP = {"script", "style", "noscript", "template"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
              "article", "header", "footer", "pre", "blockquote", "table", "ul", "ol"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag in {"h1", "h2", "h3"} and not self._skip:
            self.parts.append("#" * int(tag[1]) + " ")  # headings chunking sees HTML sections

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def html_text(source: str) -> tuple[str, str]:
    """(title, visible text) of an HTML page: scripts and styles dropped, blocks on lines."""
    parser = _HTMLText()
    parser.feed(source)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return parser.title.strip(), "\n".join(text).strip()


def pdf_text(path: Path, data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unreadable("the PDF is encrypted (password protected); save a copy without "
                             "the password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise Unreadable(f"a broken PDF ({type(error).__name__}: {error})") from None
    text = "\n\n".join(page.strip() for page in pages).strip()
    if not text:
        raise Unreadable("the PDF has no text layer (scanned pages need OCR first)")
    return text


def read_file(path: Path, progress: Progress | None = None) -> ReadFile:
    """A file's text, title and hash; raises Unreadable with the reason."""
    data, sha256 = load_file(path, progress)
    return parse_file(path, data, sha256)


def load_file(path: Path, progress: Progress | None = None) -> tuple[bytes, str]:
    """A readable kind of file's bytes and sha256 (Unreadable with the reason): enough to
    tell an unchanged file before its text is extracted."""
    suffix = path.suffix.lower()
    if suffix not in KNOWN_SUFFIXES:
        raise Unreadable(f"unknown kind of file '{suffix or path.name}' (reads "
                         f"{', '.join(sorted(KNOWN_SUFFIXES))})")
    try:
        data, sha256 = read_bytes(path, progress)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    if not data.strip():
        raise Unreadable("the file is empty")
    return data, sha256


def parse_file(path: Path, data: bytes, sha256: str) -> ReadFile:
    """The text and title of a file's bytes (a PDF's text layer, HTML without its markup)."""
    suffix = path.suffix.lower()
    title = ""
    if suffix in PDF_SUFFIXES:
        text = pdf_text(path, data)
    else:
        text = decode_text(data)
        if suffix in HTML_SUFFIXES:
            title, text = html_text(text)
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise Unreadable("the file has no text")
    return ReadFile(str(path), title or _title(text, path), text, sha256, len(data))


def _title(text: str, path: Path) -> str:
    for line in text.splitlines()[:5]:
        if line.startswith("#"):
            return line.lstrip("#").strip() or path.stem
    return path.stem

