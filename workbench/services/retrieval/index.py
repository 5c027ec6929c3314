"""Indexing a document set: files in (read, hashed, chunked, stored), vectors made.

Each file is stored once: a path already in the set with the same SHA-256 is left alone, a
changed one replaces its chunks (the FTS5 rows and vectors go with them), a file with the same
content as another one in the set is skipped as a duplicate. A folder added again drops its
files that are gone from disk. Progress is in bytes while reading and in chunks while
embedding; a cancel stops between files (or between embedding batches) and keeps what is done:
adding or re-embedding again carries on from there.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ...core.ids import new_id, utc_now
from ...core.job_state import JobState
from ...core.retrieval import DocumentSet, FileProblem, IndexReport, SourceDocument
from .chunking import Chunker
from .embedder import Embedders
from .readers import Unreadable, load_file, parse_file, walk


class Indexer:
    def __init__(self, store, embedders: Embedders):
        self.store = store
        self.embedders = embedders

    # -- files ---------------------------------------------------------------------------

    def add(self, doc_set: DocumentSet, paths: list, job: JobState, report: IndexReport,
            tokenizer) -> None:
        files, missing = walk(paths)
        report.skipped.extend(missing)
        existing = {d.path: d for d in self.store.retrieval.documents(doc_set.id)}
        hashes = {d.sha256: d.path for d in existing.values()}
        chunker = Chunker(doc_set.chunking, tokenizer)
        sizes = [_size(f) for f in files]
        total, base = sum(sizes), 0
        seen: set[str] = set()
        for file, size in zip(files, sizes):
            if job.cancelled:
                return
            seen.add(str(file))
            try:
                data, sha256 = load_file(file, lambda done, _size, b=base, f=file:
                                         job.set_progress(b + done, total, f"reading {f.name}"))
            except Unreadable as reason:
                report.skipped.append(FileProblem(str(file), str(reason)))
                continue
            finally:
                base += size
            # Unchanged files and twins are told by their hash, before any text is extracted
            # (a PDF's text layer takes long to read again).
            old = existing.get(str(file))
            if old is not None and old.sha256 == sha256:
                report.unchanged += 1
                continue
            twin = hashes.get(sha256)
            if old is None and twin is not None:
                report.skipped.append(FileProblem(str(file), f"the same content as {twin}, "
                                                             "already in the set"))
                continue
            try:
                read = parse_file(file, data, sha256)
            except Unreadable as reason:
                report.skipped.append(FileProblem(str(file), str(reason)))
                continue
            now = utc_now()
            document = SourceDocument(
                set_id=doc_set.id, path=read.path, title=read.title, sha256=read.sha256,
                size=read.size, id=old.id if old else new_id(),
                added_at=old.added_at if old else now, updated_at=now)
            chunks = chunker.chunk(document.id, read.text)
            self.store.retrieval.save_document(document, read.text, chunks)
            hashes[read.sha256] = read.path
            report.chunks += len(chunks)
            if old is None:
                report.added += 1
            else:
                report.updated += 1
        self._drop_gone(paths, existing, seen, report)

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
        """Cut every document again with the set's chunking (from its stored text)."""
        chunker = Chunker(doc_set.chunking, tokenizer)
        documents = self.store.retrieval.documents(doc_set.id)
        for done, document in enumerate(documents):
            if job.cancelled:
                return
            job.set_progress(done, len(documents), f"chunking {Path(document.path).name}")
            text = self.store.retrieval.document_text(document.id)
            chunks = chunker.chunk(document.id, text)
            self.store.retrieval.save_document(replace(document, updated_at=utc_now()), text,
                                               chunks)
            report.chunks += len(chunks)
            report.updated += 1

    # -- vectors -------------------------------------------------------------------------

    def embed(self, doc_set: DocumentSet, model_path: Path, job: JobState,
              report: IndexReport) -> bool:
        """Give every chunk of the set a vector in the model's space; switch the set to that
        space once all have one. Only the chunks still missing one are embedded (resumable).
        Returns whether the set is now complete in that space."""
        host = self.embedders.host(model_path)
        space = self.embedders.space(model_path)
        space_id = self.store.vectors.space_id(space)
        missing = self.store.vectors.missing(doc_set.id, space_id)
        ids = [chunk_id for chunk_id, _ in missing]
        total = len(missing)

        def store_batch(offset: int, vectors: list[bytes]) -> None:
            self.store.vectors.add(space_id, doc_set.id,
                                   list(zip(ids[offset:offset + len(vectors)], vectors)))
            job.set_progress(offset + len(vectors), total,
                             f"embedding with {space.model_name}")

        job.set_progress(0, total, f"embedding with {space.model_name}")
        done = self.embedders.embed(host, [text for _, text in missing], each=store_batch,
                                    cancelled=lambda: job.cancelled)
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
