"""Indexing a document set: files in (hashed, read, chunked, stored), vectors made.

Each file is stored once: a path already in the set with the same SHA-256 is left alone, a
changed one replaces its chunks (the FTS5 rows and vectors go with them), a file with the same
content as another one in the set is skipped as a duplicate. A folder added again drops its
files that are gone from disk. Progress is in bytes while reading (each file is read twice:
hashed first, so that an unchanged file or a twin is known before any text is extracted, then
chunked) and in chunks while embedding; a cancel stops between files (or between embedding
batches) and keeps what is done: adding or re-embedding again carries on from there.

Nothing here holds a whole file, all of its chunks or all of a set's vectors, so the memory an
add takes does not grow with the file: its text comes a part at a time (readers.FileText),
is chunked as it comes (chunk_stream.ChunkStream), and each part is stored with the chunks it
completed, one transaction per part, into a draft that becomes the document in one last
transaction (store/repositories/retrieval.py): a search sees the old version of a file or
the new one, never half of one, and a draft left by a process that was killed is removed by
the next add, which stores that file again. Embedding reads the chunks still missing a
vector a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ...core.ids import new_id, utc_now
from ...core.job_state import JobState
from ...core.retrieval import DocumentSet, FileProblem, IndexReport, SourceDocument
from .chunk_stream import ChunkStream
from .embedder import Embedders
from .readers import FileText, Fingerprint, Unreadable, fingerprint, walk

EMBED_PAGE = 512  # chunks read from the store at a time to be embedded


class Indexer:
    def __init__(self, store, embedders: Embedders):
        self.store = store
        self.embedders = embedders

    # -- files ---------------------------------------------------------------------------

    def add(self, doc_set: DocumentSet, paths: list, job: JobState, report: IndexReport,
            tokenizer) -> None:
        files, problems = walk(paths)
        report.skipped.extend(problems)
        self.store.retrieval.drop_drafts(doc_set.id)
        existing = {d.path: d for d in self.store.retrieval.documents(doc_set.id)}
        hashes = {d.sha256: d.path for d in existing.values()}
        sizes = [_size(f) for f in files]
        total, base = 2 * sum(sizes), 0  # each file is read twice: hashed, then its text

        def progress(verb: str, file: Path, start: int):
            return lambda done, _size: job.set_progress(start + done, total,
                                                        f"{verb} {file.name}")

        seen: set[str] = set()
        for file, size in zip(files, sizes):
            if job.cancelled:
                return
            seen.add(str(file))
            start, base = base, base + 2 * size
            try:
                found = fingerprint(file, progress("reading", file, start))
            except Unreadable as reason:
                report.skipped.append(FileProblem(str(file), str(reason)))
                continue
            # Unchanged files and twins are told by their hash, before any text is extracted
            # (a PDF's text layer takes long to read again).
            old = existing.get(str(file))
            if old is not None and old.sha256 == found.sha256:
                report.unchanged += 1
                continue
            twin = hashes.get(found.sha256)
            if old is None and twin is not None:
                report.skipped.append(FileProblem(str(file), f"the same content as {twin}, "
                                                             "already in the set"))
                continue
            try:
                chunks, notices = self._store_file(doc_set, found, old, tokenizer,
                                                   progress("chunking", file, start + size))
            except Unreadable as reason:
                report.skipped.append(FileProblem(str(file), str(reason)))
                continue
            report.notices.extend(FileProblem(str(file), notice) for notice in notices)
            hashes[found.sha256] = str(file)
            report.chunks += chunks
            if old is None:
                report.added += 1
            else:
                report.updated += 1
        self._drop_gone(paths, existing, seen, report)

    def _store_file(self, doc_set: DocumentSet, found: Fingerprint, old: SourceDocument | None,
                    tokenizer, progress) -> tuple[int, list[str]]:
        """Read, chunk and store one file (a draft until it is all in); its chunk count and
        the notices its reader had. Unreadable (the draft removed) when its text cannot be
        read, even far into the file."""
        now = utc_now()
        document = SourceDocument(
            set_id=doc_set.id, path=str(found.path), title="", sha256=found.sha256,
            size=found.size, id=old.id if old else new_id(),
            added_at=old.added_at if old else now, updated_at=now)
        text = FileText(found, progress)
        chunks = self._store_draft(document, text, ChunkStream(doc_set.chunking, tokenizer,
                                                               document.id))
        return chunks, text.notices

    def _store_draft(self, document: SourceDocument, source: FileText | Iterable[str],
                     stream: ChunkStream) -> int:
        """Chunk the text of ``source`` into a draft of ``document``, a part at a time, each
        part stored with the chunks it completed; then the draft becomes the document. A
        file's text is stored and its title taken once it is read; a stored text (re-chunking)
        stays. The number of chunks."""
        retrieval = self.store.retrieval
        store_text = isinstance(source, FileText)
        draft = retrieval.start_draft(document)
        count = offset = 0
        try:
            for position, part in enumerate(source):
                chunks = stream.feed(part)
                retrieval.add_to_draft(draft, [(position, offset, part)] if store_text else [],
                                       chunks)
                offset += len(part)
                count += len(chunks)
            chunks = stream.finish()
            retrieval.add_to_draft(draft, [], chunks)
        except BaseException:
            retrieval.discard_draft(draft)
            raise
        if store_text:
            document = replace(document, title=source.title)
        retrieval.finish_draft(draft, document, keep_text=not store_text)
        return count + len(chunks)

    def _drop_gone(self, paths: list, existing: dict[str, SourceDocument], seen: set[str],
                   report: IndexReport) -> None:
        """Documents under a folder given again whose file is no longer there."""
        folders = [Path(p).expanduser().resolve() for p in paths if Path(p).expanduser().is_dir()]
        for path, document in existing.items():
            inside = any(Path(path).is_relative_to(folder) for folder in folders)
            if inside and path not in seen and not Path(path).exists():
                self.store.retrieval.remove_document(document.id)
                report.removed += 1

    def rechunk(self, doc_set: DocumentSet, job: JobState, report: IndexReport,
                tokenizer) -> None:
        """Cut every document again with the set's chunking (from its stored text, a part at
        a time)."""
        self.store.retrieval.drop_drafts(doc_set.id)
        documents = self.store.retrieval.documents(doc_set.id)
        for done, document in enumerate(documents):
            if job.cancelled:
                return
            job.set_progress(done, len(documents), f"chunking {Path(document.path).name}")
            stream = ChunkStream(doc_set.chunking, tokenizer, document.id)
            report.chunks += self._store_draft(
                replace(document, updated_at=utc_now()),
                self.store.retrieval.document_parts(document.id), stream)
            report.updated += 1

    # -- vectors -------------------------------------------------------------------------

    def embed(self, doc_set: DocumentSet, model_path: Path, job: JobState,
              report: IndexReport) -> bool:
        """Give every chunk of the set a vector in the model's space; switch the set to that
        space once all have one. Only the chunks still missing one are embedded (resumable),
        read from the store a page at a time. Returns whether the set is now complete in
        that space."""
        host = self.embedders.host(model_path)
        space = self.embedders.space(model_path)
        space_id = self.store.vectors.space_id(space)
        total = self.store.vectors.missing_count(doc_set.id, space_id)
        message = f"embedding with {space.model_name}"
        job.set_progress(0, total, message)
        done, after = 0, 0
        while not job.cancelled:
            page = self.store.vectors.missing(doc_set.id, space_id, after=after,
                                              limit=EMBED_PAGE)
            if not page:
                break
            ids = [chunk_id for chunk_id, _ in page]

            def store_batch(offset: int, vectors: list[bytes], ids=ids, before=done) -> None:
                self.store.vectors.add(space_id, doc_set.id,
                                       list(zip(ids[offset:offset + len(vectors)], vectors)))
                job.set_progress(before + offset + len(vectors), total, message)

            embedded = self.embedders.embed(host, [text for _, text in page], each=store_batch,
                                            job=job)
            done += embedded
            after = ids[-1]
            if embedded < len(page):
                break
        report.embedded += done
        if done < total:
            return False  # cancelled: the set keeps searching its previous space
        self.store.retrieval.set_space(doc_set.id, space_id)
        return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
