"""Files into a set: bad files named and skipped while the rest is added, each file stored
once, re-added files updated, removed files dropped, a huge file read with progress, a cancel
that keeps what was done."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from pypdf import PdfWriter

from tests.retrieval.conftest import CORPUS
from workbench.core.errors import WorkbenchError
from workbench.core.job_state import CANCELLED, JobState, JobWatcher
from workbench.core.retrieval import ChunkingSpec, ChunkView, SourceDocument
from workbench.services.retrieval.readers import BLOCK, FileText, fingerprint


def text_pdf(line: str) -> bytes:
    """A one-page PDF with a text layer, written out by hand (pypdf writes no text itself)."""
    stream = f"BT /F1 12 Tf 10 50 Td ({line}) Tj ET".encode()
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]/Contents 4 0 R"
               b"/Resources<</Font<</F1 5 0 R>>>>>>",
               b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream),
               b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj%s endobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "docs"
    (root / "nested").mkdir(parents=True)
    shutil.copy(CORPUS / "transit-trams.md", root / "trams.md")
    shutil.copy(CORPUS / "library-membership.html", root / "nested" / "membership.html")
    (root / "bom.txt").write_bytes("The Cobalt line follows the river.".encode("utf-16"))  # with a BOM
    (root / "timetable.pdf").write_bytes(text_pdf("The ferry Heron sails at noon."))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog garbage")
    (root / "locked.pdf").write_bytes(encrypted_pdf())
    (root / "empty.md").write_text("")
    (root / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me, d\xe9j\xe0 vu".encode("latin-1"))
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not text")
    return root


def test_bad_files_are_named_and_skipped_while_the_rest_is_added(lab, folder):
    lab.service.create_set("mixed", chunking=ChunkingSpec("tokens", 64, 8))
    report = lab.service.add("mixed", [folder, folder / "missing.md"])
    reasons = {p.path.rsplit("/", 1)[-1]: p.reason for p in report.skipped}
    assert set(reasons) == {"broken.pdf", "locked.pdf", "empty.md", "latin1.txt", "photo.jpg",
                            "missing.md"}
    assert "encrypted" in reasons["locked.pdf"]
    assert "broken PDF" in reasons["broken.pdf"]
    assert reasons["empty.md"] == "the file is empty"
    assert "not UTF-8" in reasons["latin1.txt"] and "0xe9" in reasons["latin1.txt"]
    assert "unknown kind of file '.jpg'" in reasons["photo.jpg"]
    assert reasons["missing.md"] == "no such file or folder"
    documents = {d.path.rsplit("/", 1)[-1]: d for d in lab.service.documents("mixed")}
    assert set(documents) == {"trams.md", "membership.html", "bom.txt", "timetable.pdf"}
    assert report.added == 4 and report.chunks == sum(d.chunks for d in documents.values())
    html = lab.service.document_text(documents["membership.html"].id)
    assert "twelve items" in html and "tracking" not in html and "font-family" not in html
    assert documents["membership.html"].title == "Library membership"
    assert lab.service.document_text(documents["bom.txt"].id) == \
        "The Cobalt line follows the river."
    assert "Heron sails at noon" in lab.service.document_text(documents["timetable.pdf"].id)
    assert lab.store.vectors.bm25(documents["trams.md"].set_id, '"owl"', 5)  # indexed


def test_re_adding_keeps_unchanged_updates_changed_and_drops_removed(lab, folder):
    lab.service.create_set("again", chunking=ChunkingSpec("tokens", 64, 8))
    lab.service.add("again", [folder])
    set_id = lab.service.get_set("again").id
    trams = folder / "trams.md"
    old = {d.path: d for d in lab.service.documents("again")}[str(trams)]
    old_chunks = {c.id for c in lab.service.chunks("again", old.id)}

    trams.write_text(trams.read_text().replace("every twelve minutes", "every nine minutes"))
    (folder / "nested" / "membership.html").unlink()
    (folder / "new.md").write_text("# Ferries\nThe Lantern ferry is painted green.")
    report = lab.service.add("again", [folder])

    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 1, 2, 1)
    documents = {d.path: d for d in lab.service.documents("again")}
    assert str(folder / "nested" / "membership.html") not in documents
    new = documents[str(trams)]
    assert new.id == old.id and new.sha256 != old.sha256 and new.added_at == old.added_at
    new_chunks = {c.id for c in lab.service.chunks("again", new.id)}
    assert not new_chunks & old_chunks  # the old chunks (and their FTS rows) are gone
    assert lab.store.vectors.bm25(set_id, '"nine"', 5)
    assert not lab.store.vectors.bm25(set_id, '"twelve"', 5)

    again = lab.service.add("again", [folder])
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)


def test_the_same_content_twice_is_stored_once(lab, tmp_path):
    lab.service.create_set("twins")
    (tmp_path / "a.md").write_text("# Tide\nThe tide turns at six.")
    (tmp_path / "b.md").write_text("# Tide\nThe tide turns at six.")
    report = lab.service.add("twins", [tmp_path / "a.md", tmp_path / "b.md"])
    assert report.added == 1
    assert [p.reason for p in report.skipped] == [f"the same content as {tmp_path / 'a.md'}, "
                                                  "already in the set"]


def test_a_huge_file_is_read_in_blocks_with_progress(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("The brume rolls in from the bay. " * 100_000)  # 3.3 MB
    seen = []
    found = fingerprint(path, lambda done, size: seen.append((done, size)))
    size = path.stat().st_size
    assert len(seen) == -(-size // BLOCK) >= 3 and seen[-1] == (size, size)
    assert found.size == size
    seen.clear()
    parts = list(FileText(found, lambda done, size: seen.append((done, size))))
    assert len(parts) >= 3 and max(map(len, parts)) <= BLOCK  # a part at a time
    assert len(seen) == -(-size // BLOCK) and seen[-1] == (size, size)
    assert "".join(parts) == path.read_text()


def test_cancel_between_files_keeps_what_was_done_and_a_second_add_completes(lab, tmp_path):
    for name in ("transit-trams.md", "transit-ferries.md", "water-utility.md",
                 "markets.md"):
        shutil.copy(CORPUS / name, tmp_path / name)
    lab.service.create_set("halted")
    job = JobState("add")
    # Cancel while the second file is read: it is finished, the next ones are not started.
    job.watch(JobWatcher(on_progress=lambda p: p.message.endswith("transit-ferries.md")
                         and job.cancel()))
    report = lab.service.add("halted", [tmp_path], job=job)
    assert job.status == CANCELLED and job.outcome is report
    kept = [d.path.rsplit("/", 1)[-1] for d in lab.service.documents("halted")]
    assert kept == ["markets.md", "transit-ferries.md"]  # files go in sorted order
    assert report.added == 2
    rest = lab.service.add("halted", [tmp_path])
    assert (rest.added, rest.unchanged) == (2, 2)
    assert len(lab.service.documents("halted")) == 4


def test_sets_are_found_by_name_and_an_unknown_one_is_named(lab):
    lab.service.create_set("named")
    with pytest.raises(WorkbenchError, match="already exists"):
        lab.service.create_set("named")
    with pytest.raises(WorkbenchError, match=r"No document set named 'nope' \(known: .*'named'"):
        lab.service.get_set("nope")
    with pytest.raises(WorkbenchError, match="overlap"):
        lab.service.create_set("bad", chunking=ChunkingSpec("tokens", 64, 64))
    lab.service.remove_set("named")
    assert "named" not in [s.name for s in lab.service.sets()]


def damaged_pdf(line: str) -> bytes:
    """A PDF whose startxref points past its xref table: pypdf warns, rebuilds and reads it."""
    data = text_pdf(line)
    xref = data.index(b"xref")
    return data.replace(b"startxref\n%d" % xref, b"startxref\n%d" % (xref + 7))


def wrecked_pdf(line: str) -> bytes:
    """A PDF whose catalog's xref offset is off by two: pypdf warns, then cannot read it."""
    data = text_pdf(line)
    xref = data.index(b"xref")
    first = data.index(b"n \n", xref) - 17  # the first object's ten-digit offset
    offset = int(data[first:first + 10])
    return data[:first] + b"%010d" % (offset + 2) + data[first + 10:]


def test_what_pypdf_says_of_a_damaged_pdf_is_the_files_notice_not_stderr(lab, tmp_path, capfd):
    (tmp_path / "shifted.pdf").write_bytes(damaged_pdf("The tram Owl runs at night."))
    (tmp_path / "wrecked.pdf").write_bytes(wrecked_pdf("The ferry Heron sails at noon."))
    capfd.readouterr()
    lab.service.create_set("damaged")
    report = lab.service.add("damaged", [tmp_path])
    assert report.added == 1 and "1 with notices" in report.summary()
    assert [(Path(n.path).name, n.reason) for n in report.notices] == [
        ("shifted.pdf", "pypdf: incorrect startxref pointer(3); parsing for Object Streams")]
    (skipped,) = report.skipped
    assert Path(skipped.path).name == "wrecked.pdf"
    assert skipped.reason.startswith("a broken PDF (PdfStreamError: Invalid hexadecimal")
    assert skipped.reason.endswith("; pypdf: Ignoring wrong pointing object 1 0 (offset 11); "
                                   "Object 1 0 found")
    document = lab.service.documents("damaged")[0]
    assert "Owl runs at night" in lab.service.document_text(document.id)
    err = capfd.readouterr().err
    assert "startxref" not in err and "wrong pointing" not in err  # nothing leaked


def test_pypdf_outside_a_read_still_reaches_the_log(caplog):
    """The capture is for the thread reading a PDF; pypdf used elsewhere logs as before
    (through the root logger's handlers)."""
    from pypdf import PdfReader

    from workbench.services.retrieval import readers

    readers._listen_to_pypdf()
    PdfReader(io.BytesIO(damaged_pdf("Elsewhere.")))
    assert "incorrect startxref pointer(3)" in caplog.messages


def test_a_symbolic_link_loop_is_named_as_one(lab, tmp_path):
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "real.md").write_text("# Tide\nThe tide turns at six.")
    (folder / "self.md").symlink_to(folder / "self.md")
    (folder / "ping.md").symlink_to(folder / "pong.md")
    (folder / "pong.md").symlink_to(folder / "ping.md")
    (folder / "gone.md").symlink_to(folder / "nowhere.md")
    lab.service.create_set("links")
    report = lab.service.add("links", [folder, folder / "self.md"])
    loop = ("a symbolic link loop (following its links comes back to where it started, never "
            "to a file)")
    assert sorted((Path(p.path).name, p.reason) for p in report.skipped) == [
        ("gone.md", f"a broken symbolic link (to {folder / 'nowhere.md'}, which does not exist)"),
        ("ping.md", loop), ("pong.md", loop), ("self.md", loop), ("self.md", loop)]
    assert report.added == 1


def test_a_file_unreadable_far_in_keeps_the_version_stored_before(lab, tmp_path):
    """Its text is stored a part at a time into a draft: a byte that is not UTF-8 two parts
    in drops the draft, and the version added before is still the document, whole."""
    path = tmp_path / "log.txt"
    body = "The harbour bell rings at dawn; the quay opens at six.\n" * 42_000  # 2.3 MB
    path.write_text(body)
    lab.service.create_set("long", chunking=ChunkingSpec("tokens", 128, 16))
    assert lab.service.add("long", [path]).added == 1
    (before,) = lab.service.documents("long")
    chunks = lab.service.chunks("long", before.id)
    path.write_bytes(body.encode() + b"\xff and more")
    report = lab.service.add("long", [path])
    assert [p.reason for p in report.skipped] == [
        f"not UTF-8 text (undecodable byte 0xff at offset {len(body)}); save it as UTF-8"]
    assert lab.service.documents("long") == [before]
    assert lab.service.chunks("long", before.id) == chunks
    assert lab.service.document_text(before.id) == body
    with lab.store.db.engine.connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT count(*) FROM documents WHERE sha256 = ''").scalar() == 0
        assert connection.exec_driver_sql(
            "SELECT count(*) FROM chunks WHERE document_id = ?", (before.id,)).scalar() \
            == len(chunks)


def test_a_draft_left_by_a_killed_add_is_invisible_and_the_next_add_stores_the_file(lab,
                                                                                    tmp_path):
    lab.service.create_set("killed")
    set_id = lab.service.get_set("killed").id
    path = tmp_path / "quay.md"
    path.write_text("# Quay\nThe quay floods at seven when the tide is high.")
    # What a process killed while adding the file leaves: a draft with a part and a chunk.
    draft = lab.store.retrieval.start_draft(
        SourceDocument(set_id, str(path.resolve()), "", "", 52))
    lab.store.retrieval.add_to_draft(draft, [(0, 0, "# Quay\nThe quay")],
                                     [ChunkView(0, draft, 0, "The quay", 7, 15, 2)])
    assert lab.service.documents("killed") == []
    assert lab.store.vectors.bm25(set_id, '"quay"', 5) == []  # no search sees a draft
    report = lab.service.add("killed", [path])
    assert report.added == 1
    (document,) = lab.service.documents("killed")
    assert document.title == "Quay" and document.chunks == 1
    assert len(lab.store.vectors.bm25(set_id, '"quay"', 5)) == 1
    with pytest.raises(Exception, match="No document with id"):
        lab.service.document_text(draft)
