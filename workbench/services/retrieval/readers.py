"""Reading files into text for a document set: txt, md, html, pdf; folders walked.

A file that cannot be read becomes a ``FileProblem`` with the reason in words (encrypted PDF,
broken PDF, empty, not text in a known encoding, unknown kind, a symbolic link loop) and the
rest goes on. Nothing holds a whole file: ``fingerprint`` hashes it a block at a time (with
progress in bytes), and ``FileText`` yields its text a part at a time — text and markdown
decoded block by block, HTML fed to the parser block by block, a PDF page by page — so the
memory an add takes does not grow with the file. What pypdf says about a damaged PDF it could
still read is kept as the file's notices (shown beside the skipped files), not printed.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ...core.retrieval import FileProblem

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
BLOCK = 1 << 20  # bytes read at a time (progress steps of a huge file, one text part)
TITLE_CHARS = 1 << 16  # the title is looked for in the first lines of this much text

ByteCount = Callable[[int, int], None]  # (bytes read, file size): the job's progress while reading


@dataclass(frozen=True)
class Fingerprint:
    """What the first pass over a file learns: enough to tell an unchanged file or a twin
    before any text is extracted."""

    path: Path
    sha256: str
    size: int


class Unreadable(Exception):
    """Why a file is skipped (its message is the reason shown to the user)."""


def walk(paths: list[str | Path]) -> tuple[list[Path], list[FileProblem]]:
    """The files under ``paths`` (folders walked, sorted, hidden entries skipped), and the
    paths that cannot be followed (missing, a broken link, a symbolic link loop)."""
    files: list[Path] = []
    problems: list[FileProblem] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            for root, folders, names in os.walk(path):
                folders[:] = sorted(f for f in folders if not f.startswith("."))
                files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(FileProblem(str(path), _not_found(path)))
    resolved = []
    for file in files:
        try:
            resolved.append(file.resolve(strict=True))
        except (OSError, RuntimeError):  # RuntimeError: a loop, on Pythons before 3.13
            problems.append(FileProblem(str(file), _not_found(file)))
    return resolved, problems


def _not_found(path: Path) -> str:
    """Why a path that is neither a file nor a folder cannot be read."""
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return ("a symbolic link loop (following its links comes back to where it "
                    "started, never to a file)")
        if path.is_symlink():
            return f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return "no such file or folder"
    return "not a file or folder"


def fingerprint(path: Path, progress: ByteCount | None = None) -> Fingerprint:
    """A readable kind of file's SHA-256 and size, read in blocks with progress; Unreadable
    with the reason (unknown kind, cannot be read, empty)."""
    suffix = path.suffix.lower()
    if suffix not in KNOWN_SUFFIXES:
        raise Unreadable(f"unknown kind of file '{suffix or path.name}' (reads "
                         f"{', '.join(sorted(KNOWN_SUFFIXES))})")
    digest = hashlib.sha256()
    done, blank = 0, True
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
                blank = blank and not block.strip()
                done += len(block)
                if progress is not None:
                    progress(done, size)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    if blank:
        raise Unreadable("the file is empty")
    return Fingerprint(path, digest.hexdigest(), done)


class FileText:
    """A file's text, a part at a time (iterate once). Parts are about BLOCK characters; a
    text ``\r\n`` is ``\n``. ``title`` (a markdown heading in the first lines, an HTML
    page's title, else the file's name) and ``notices`` (what pypdf warned of) are known once
    the parts are read. Iterating raises Unreadable with the reason, possibly after some parts
    were given (a byte that is not UTF-8 far into the file, a PDF page that cannot be read,
    a file with no text at all), and when the file's bytes are no longer those
    ``fingerprint`` hashed."""

    def __init__(self, fingerprint: Fingerprint, progress: ByteCount | None = None):
        self.path = fingerprint.path
        self.fingerprint = fingerprint
        self.progress = progress
        self.title = ""
        self.notices: list[str] = []

    def __iter__(self) -> Iterator[str]:
        suffix = self.path.suffix.lower()
        if suffix in PDF_SUFFIXES:
            source = _pdf_parts(self.path, self.fingerprint.size, self.notices,
                                self.progress)
        else:
            source = _decoded(self._blocks())
            if suffix in HTML_SUFFIXES:
                page = _HTMLText()
                source = page.lines(source)
        head, text = [], False
        for part in _joined(_crlf_to_lf(source)):
            if sum(map(len, head)) < TITLE_CHARS:
                head.append(part[:TITLE_CHARS])
            text = text or not part.isspace()
            yield part
        if not text:
            raise Unreadable("the file has no text")
        if suffix in HTML_SUFFIXES:
            self.title = page.title.strip()
        self.title = self.title or _title("".join(head)[:TITLE_CHARS], self.path)

    def _blocks(self) -> Iterator[bytes]:
        """The file's bytes a block at a time, hashed again on the way: the text stored is
        that of the bytes ``fingerprint`` hashed."""
        digest, done = hashlib.sha256(), 0
        try:
            with open(self.path, "rb") as handle:
                while block := handle.read(BLOCK):
                    digest.update(block)
                    done += len(block)
                    if self.progress is not None:
                        self.progress(done, self.fingerprint.size)
                    yield block
        except OSError as error:
            raise Unreadable(f"cannot be read ({error.strerror})") from None
        if digest.hexdigest() != self.fingerprint.sha256:
            raise Unreadable("the file changed while it was being read; add it again")


def _joined(parts: Iterator[str], size: int = BLOCK) -> Iterator[str]:
    """Small parts (HTML lines, PDF pages) joined into parts of up to ``size`` characters (a
    larger one, a decoded block, stays as it is)."""
    held: list[str] = []
    count = 0
    for part in parts:
        if held and count + len(part) > size:
            yield "".join(held)
            held, count = [], 0
        held.append(part)
        count += len(part)
    if held:
        yield "".join(held)


def _crlf_to_lf(parts: Iterator[str]) -> Iterator[str]:
    """``\r\n`` as ``\n`` across part boundaries (a part's last ``\r`` waits for the next)."""
    held = ""
    for part in parts:
        part = held + part
        held = ""
        if part.endswith("\r"):
            part, held = part[:-1], "\r"
        if part:
            yield part.replace("\r\n", "\n")
    if held:
        yield held


BOMS = ((codecs.BOM_UTF8, "utf-8", "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"))


def _decoded(blocks: Iterator[bytes]) -> Iterator[str]:
    """UTF-8 (a BOM of UTF-8 or UTF-16 is honoured), decoded block by block; anything else is
    refused, not guessed: a wrong guess would index mojibake. The byte named in the reason is
    counted from the start of the file."""
    decoder = None
    name, offset = "utf-8", 0  # offset: bytes of the file before the block being decoded
    for block in blocks:
        if decoder is None:
            encoding = "utf-8"
            for bom, codec, label in BOMS:
                if block.startswith(bom):
                    encoding, name, offset, block = codec, label, len(bom), block[len(bom):]
                    break
            decoder = codecs.getincrementaldecoder(encoding)("strict")
        pending = len(decoder.getstate()[0])
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError as error:
            raise _undecodable(name, error, offset - pending) from None
        offset += len(block)
        if text:
            yield text
    if decoder is not None:
        pending = len(decoder.getstate()[0])
        try:
            text = decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise _undecodable(name, error, offset - pending) from None
        if text:
            yield text


def _undecodable(name: str, error: UnicodeDecodeError, base: int) -> Unreadable:
    at = base + error.start
    if name == "utf-8":
        return Unreadable(f"not UTF-8 text (undecodable byte 0x{error.object[error.start]:02x} "
                          f"at offset {at}); save it as UTF-8")
    return Unreadable(f"not valid {name} text (byte {at})")


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

    def lines(self, source: Iterator[str]) -> Iterator[str]:
        """The page's visible text, the page fed a part at a time: scripts and styles
        dropped, blocks on lines, each line's whitespace collapsed, at most one blank line
        between two lines of text and none at either end."""
        carry, started, blank = "", False, False
        for part, final in _with_end(source):
            if part:
                self.feed(part)
            if final:
                self.close()
            pieces = (carry + "".join(self.parts)).splitlines(keepends=True)
            self.parts.clear()
            # The last piece may go on in the next part: no line break yet, or a \r that a
            # \n may follow.
            last = pieces[-1][-1] if pieces else ""
            carry = pieces.pop() if not final and last and (
                last == "\r" or last not in LINE_BREAKS) else ""
            out = []
            for piece in pieces:
                line = " ".join(piece.split())
                if line:
                    out.append(("\n\n" if blank else "\n") + line if started else line)
                    started, blank = True, False
                elif started:
                    blank = True
            if out:
                yield "".join(out)


LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines cuts


def _with_end(parts: Iterator[str]) -> Iterator[tuple[str, bool]]:
    """Each part with False, then ("", True) once they are all given."""
    for part in parts:
        yield part, False
    yield "", True


def html_text(source: str) -> tuple[str, str]:
    """(title, visible text) of an HTML page: scripts and styles dropped, blocks on lines."""
    parser = _HTMLText()
    text = "".join(parser.lines(iter([source])))
    return parser.title.strip(), text


# -- PDF ------------------------------------------------------------------------------------

PDF_FAILURES = (ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
                RecursionError)
_pypdf = threading.local()  # .notes: the list this thread's pypdf messages go to
_pypdf_lock = threading.Lock()


class _PypdfNotes(logging.Handler):
    """pypdf's warnings and errors (``pypdf._utils.logger_warning``) while this thread reads a
    PDF go to that file's notices instead of stderr; any other thread's go on to the root
    logger as if pypdf's logger propagated (Python prints them when nothing is configured)."""

    def emit(self, record: logging.LogRecord) -> None:
        notes = getattr(_pypdf, "notes", None)
        if notes is None:
            logging.getLogger().handle(record)
            return
        try:
            notes.append(record.getMessage().strip())
        except Exception:  # noqa: BLE001 - a malformed message is still a message
            notes.append(str(record.msg))


def _listen_to_pypdf() -> None:
    with _pypdf_lock:
        logger = logging.getLogger("pypdf")
        if not any(isinstance(h, _PypdfNotes) for h in logger.handlers):
            logger.addHandler(_PypdfNotes(logging.WARNING))
            logger.propagate = False


def _said(notes: list[str], shown: int = 3) -> str:
    """pypdf's messages as one line: each once with how often, the first few."""
    counts: dict[str, int] = {}
    for note in notes:
        counts[note] = counts.get(note, 0) + 1
    items = [f"{text} (×{n})" if n > 1 else text for text, n in counts.items()]
    more = f"; and {len(items) - shown} more" if len(items) > shown else ""
    return "pypdf: " + "; ".join(items[:shown]) + more


def _pdf_parts(path: Path, size: int, notices: list[str],
               progress: ByteCount | None) -> Iterator[str]:
    """A PDF's text page by page: each page's text stripped, pages apart by a blank line.
    The file is read through an open handle (given a path, pypdf would read it whole)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    failures = (PdfReadError, PyPdfError, *PDF_FAILURES)
    _listen_to_pypdf()
    notes: list[str] = []
    outer, _pypdf.notes = getattr(_pypdf, "notes", None), notes

    def broken(error: Exception) -> Unreadable:
        said = f"; {_said(notes)}" if notes else ""
        return Unreadable(f"a broken PDF ({type(error).__name__}: {error}){said}")

    try:
        with open(path, "rb") as handle:
            try:
                reader = PdfReader(handle)
                if reader.is_encrypted:
                    raise Unreadable("the PDF is encrypted (password protected); save a copy "
                                     "without the password")
                count = len(reader.pages)
            except Unreadable:
                raise
            except failures as error:
                raise broken(error) from None
            started, gaps = False, 0
            for index in range(count):
                try:
                    page = (reader.pages[index].extract_text() or "").strip()
                except failures as error:
                    raise broken(error) from None
                if progress is not None:
                    progress(size * (index + 1) // max(count, 1), size)
                if started:
                    gaps += 1
                if page:
                    yield "\n\n" * gaps + page if started else page
                    started, gaps = True, 0
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    finally:
        _pypdf.notes = outer
    if not started:
        raise Unreadable("the PDF has no text layer (scanned pages need OCR first)"
                         + (f"; {_said(notes)}" if notes else ""))
    if notes:
        notices.append(_said(notes))


def _title(text: str, path: Path) -> str:
    for line in text.splitlines()[:5]:
        if line.startswith("#"):
            return line.lstrip("#").strip() or path.stem
    return path.stem
