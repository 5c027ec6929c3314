"""Export a session to one portable file and import it back.

The file is JSON (gzip-compressed when its name ends in ``.gz``): a format marker, a format
version, and every row of the session's tables with all their columns. Rows keep their UUIDs,
so importing a file twice, or into the database it came from, adds nothing the second time.

Format 2 (schema revision 0004) adds the evaluation lab: the assertions, threshold and
description of test cases, the defaults of case sets, an output's repeat and total time, and
the tables ``eval_suites``, ``eval_runs`` and ``eval_results``. A format 1 file still imports:
the columns it lacks take their defaults (no assertions), the tables it lacks are empty.

Format 3 (schema revision 0005) adds the token inspector: the table ``output_traces`` (each
trace's packed bytes, base64 like any binary column) and, on outputs, the output each was
branched from and its forced tokens. Format 1 and 2 files still import: their outputs have no
trace and are no branch.

A document's text, kept in parts since schema revision 0007 (``document_parts``), is exported
whole in its ``text`` column as format 4 has it, and imported there.

Format 5 (schema revision 0008) adds a test case's ``options`` (promptfoo's transform and
transformVars); older files import with none.

Format 6 (schema revision 0009) adds Improve: the tables ``improve_jobs`` (a search's request,
split, status and evidence) and ``improve_candidates`` (each candidate's prompt version,
settings, lineage and the runs that scored it). Older files import with no improve jobs.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session as OrmSession

from ..core.errors import ExportFormatError, NotFoundError, StoreError
from ..core.ids import utc_now
from .database import Database
from .revisions import head_revision
from .schema import (
    CaseSetRow,
    ChunkRow,
    DocumentPartRow,
    DocumentRow,
    DocumentSetRow,
    EvalResultRow,
    EvalRunRow,
    EvalSuiteRow,
    ImproveCandidateRow,
    ImproveJobRow,
    OutputRetrievalRow,
    OutputRow,
    OutputTraceRow,
    PreferenceRow,
    PromptRow,
    PromptVersionRow,
    RatingRow,
    RunRow,
    SessionRow,
    SessionVariantRow,
    TestCaseRow,
    VariantRow,
)

FORMAT = "prompt-workbench-session"
# 2: the evaluation lab (revision 0004); 3: token traces and branches (revision 0005); 4: the
# retrieval lab (revision 0006); 5: test case options (revision 0008); 6: improve jobs and
# their candidates (revision 0009). An older app refuses a newer file with "exported by a
# newer version" instead of failing on columns it does not know.
FORMAT_VERSION = 6


def _session_rows(s: OrmSession, session_id: str) -> dict[str, list]:
    """Every row that belongs to the session, parents before children."""
    rows: dict[str, list] = {}

    def take(name: str, model, condition) -> list:
        found = list(s.scalars(select(model).where(condition)))
        rows[name] = found
        return found

    take("sessions", SessionRow, SessionRow.id == session_id)
    prompts = take("prompts", PromptRow, PromptRow.session_id == session_id)
    versions = take("prompt_versions", PromptVersionRow,
                    PromptVersionRow.prompt_id.in_([p.id for p in prompts]))
    versions.sort(key=lambda v: v.created_at)  # parents first
    sets = take("case_sets", CaseSetRow, CaseSetRow.session_id == session_id)
    take("test_cases", TestCaseRow, TestCaseRow.case_set_id.in_([c.id for c in sets]))
    runs = take("runs", RunRow, RunRow.session_id == session_id)
    run_ids = [r.id for r in runs]
    take("variants", VariantRow, VariantRow.run_id.in_(run_ids))
    outputs = take("outputs", OutputRow, OutputRow.run_id.in_(run_ids))
    output_ids = [o.id for o in outputs]
    take("output_traces", OutputTraceRow, OutputTraceRow.output_id.in_(output_ids))
    take("ratings", RatingRow, RatingRow.output_id.in_(output_ids))
    take("preferences", PreferenceRow, PreferenceRow.output_a_id.in_(output_ids))
    take("output_retrievals", OutputRetrievalRow, OutputRetrievalRow.output_id.in_(output_ids))
    document_sets = take("document_sets", DocumentSetRow, DocumentSetRow.session_id == session_id)
    documents = take("documents", DocumentRow,  # not a draft (an add still storing it)
                     DocumentRow.set_id.in_([d.id for d in document_sets])
                     & (DocumentRow.sha256 != ""))
    chunks = take("chunks", ChunkRow, ChunkRow.document_id.in_([d.id for d in documents]))
    chunks.sort(key=lambda c: (c.document_id, c.position))
    take("session_variants", SessionVariantRow, SessionVariantRow.session_id == session_id)
    take("eval_suites", EvalSuiteRow, EvalSuiteRow.session_id == session_id)
    take("eval_runs", EvalRunRow, EvalRunRow.run_id.in_(run_ids))
    take("eval_results", EvalResultRow, EvalResultRow.run_id.in_(run_ids))
    jobs = take("improve_jobs", ImproveJobRow, ImproveJobRow.session_id == session_id)
    take("improve_candidates", ImproveCandidateRow,
         ImproveCandidateRow.job_id.in_([j.id for j in jobs]))
    return rows


MODELS = {
    "sessions": SessionRow, "prompts": PromptRow, "prompt_versions": PromptVersionRow,
    "case_sets": CaseSetRow, "test_cases": TestCaseRow, "runs": RunRow, "variants": VariantRow,
    "outputs": OutputRow, "output_traces": OutputTraceRow, "ratings": RatingRow, "preferences": PreferenceRow,
    "session_variants": SessionVariantRow,
    "eval_suites": EvalSuiteRow, "eval_runs": EvalRunRow, "eval_results": EvalResultRow,
    "output_retrievals": OutputRetrievalRow, "document_sets": DocumentSetRow,
    "documents": DocumentRow, "chunks": ChunkRow,
    "improve_jobs": ImproveJobRow, "improve_candidates": ImproveCandidateRow,
}
# Formats 1-3 had other tables of these names (never written by a release): not read.
RETRIEVAL_SINCE = {"document_sets": 4, "documents": 4, "chunks": 4}


def _identity(model, values: dict[str, Any]):
    """The record's primary key: its id, (session, position) for a session's variant rows, the
    run's id for an evaluated run."""
    mapper = inspect(model)
    keys = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    identity = tuple(values[key] for key in keys)
    return identity[0] if len(identity) == 1 else identity


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
    return value


def _to_record(row) -> dict[str, Any]:
    record = {attr.key: _encode(getattr(row, attr.key))
              for attr in inspect(type(row)).column_attrs}
    if isinstance(row, DocumentSetRow):
        record["space_id"] = None  # vectors do not travel: the imported set is not embedded
    if isinstance(row, ChunkRow):
        del record["id"]  # local to this database (FTS5 and vector rowid)
    return record


def _find_chunk(s: OrmSession, values: dict[str, Any]) -> bool:
    return s.scalar(select(ChunkRow.id).where(ChunkRow.document_id == values["document_id"],
                                              ChunkRow.position == values["position"])) is not None


def export_session(db: Database, session_id: str, file: Path) -> dict[str, int]:
    with db.reading() as s:
        if s.get(SessionRow, session_id) is None:
            raise NotFoundError(f"No session with id {session_id}.")
        rows = _session_rows(s, session_id)
        document = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "schema_revision": head_revision(),
            "exported_at": utc_now().isoformat(), "session_id": session_id,
            "tables": {name: [_to_record(r) for r in found] for name, found in rows.items()},
        }
        for record in document["tables"]["documents"]:
            if not record["text"]:  # kept in parts since revision 0007: exported whole
                record["text"] = "".join(s.scalars(
                    select(DocumentPartRow.text).where(DocumentPartRow.document_id == record["id"])
                    .order_by(DocumentPartRow.position)))
    data = json.dumps(document, ensure_ascii=False, indent=1).encode()
    file = Path(file)
    temporary = file.with_name(file.name + ".partial")
    try:
        opener: Callable = gzip.open if file.suffix == ".gz" else open
        with opener(temporary, "wb") as handle:
            handle.write(data)
        temporary.replace(file)  # never a half-written export under the real name
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"Cannot write the export {file}: {error.strerror}.") from None
    return {name: len(found) for name, found in document["tables"].items()}


@dataclass
class ImportResult:
    session_id: str
    added: dict[str, int] = field(default_factory=dict)
    already_present: dict[str, int] = field(default_factory=dict)

    @property
    def total_added(self) -> int:
        return sum(self.added.values())


# What an import reads at most: the JSON itself, and how much larger than the compressed
# file it may grow (deflate reaches about 1000:1 on repeated bytes; an export's JSON compresses
# about 5-20:1). Both are checked while the file is decompressed, a block at a time, so a gzip
# bomb is refused after a few megabytes are read instead of after it has filled the memory.
MAX_JSON_BYTES = 2 << 30
MAX_RATIO = 200
RATIO_FROM = 64 << 20  # the ratio is judged once this much JSON has come out
READ_BLOCK = 1 << 20


def _mib(count: int) -> str:
    return f"{count / (1 << 30):.0f} GiB" if count >= 1 << 30 else f"{count / (1 << 20):.0f} MiB"


def _read_json_bytes(file: Path, *, limit: int = MAX_JSON_BYTES) -> bytes | bytearray:
    """The file's JSON bytes, decompressed when it is gzip: read a block at a time and refused
    past ``limit`` bytes or past MAX_RATIO times the compressed bytes read so far. Only the
    decompressed bytes are kept (the compressed ones stream through)."""
    try:
        with open(file, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if not compressed:
                size = os.fstat(raw.fileno()).st_size
                if size > limit:
                    raise ExportFormatError(
                        f"{file} is too large to import: {_mib(size)} of JSON, and the import "
                        f"reads at most {_mib(limit)}.")
                return raw.read()
            data = bytearray()
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                while block := stream.read(READ_BLOCK):
                    data += block
                    if len(data) > limit:
                        raise ExportFormatError(
                            f"{file} is too large to import: it decompresses to more than "
                            f"{_mib(limit)} of JSON, the import's cap.")
                    if len(data) > RATIO_FROM and len(data) > MAX_RATIO * raw.tell():
                        raise ExportFormatError(
                            f"{file} is refused: it decompresses to more than {MAX_RATIO} "
                            f"times its compressed size ({_mib(len(data))} out of "
                            f"{raw.tell() / 1024:.0f} KiB read), as a gzip bomb does; the "
                            f"import's cap is {MAX_RATIO}:1 past the first "
                            f"{_mib(RATIO_FROM)}, and {_mib(limit)} of JSON in all.")
            return data
    except OSError as error:
        if isinstance(error, gzip.BadGzipFile) or error.strerror is None:
            raise ExportFormatError(f"{file} is a damaged gzip file.") from None
        raise ExportFormatError(f"Cannot read {file}: {error.strerror}.") from None
    except (EOFError, zlib.error):
        raise ExportFormatError(f"{file} is a damaged gzip file.") from None


def read_export(file: Path, *, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    file = Path(file)
    raw = _read_json_bytes(file, limit=limit)
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ExportFormatError(f"{file} is not a Prompt Workbench export (it is not JSON).") from None
    del raw
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportFormatError(f"{file} is not a Prompt Workbench export (no '{FORMAT}' marker).")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ExportFormatError(
            f"{file} was exported by a newer version of Prompt Workbench (format {version}; "
            f"this version reads up to {FORMAT_VERSION}). Update Prompt Workbench to import it."
        )
    if not isinstance(document.get("tables"), dict) or not document.get("session_id"):
        raise ExportFormatError(f"{file} is a damaged Prompt Workbench export (no tables).")
    return document


def import_session(db: Database, file: Path) -> ImportResult:
    document = read_export(file)
    result = ImportResult(session_id=document["session_id"])
    with db.transaction() as s:
        # Foreign keys are checked at commit (see database.py): rows may come in any order.
        for name, model in MODELS.items():
            records = document["tables"].get(name, [])
            if document["format_version"] < RETRIEVAL_SINCE.get(name, 0):
                records = []
            added = present = 0
            for index, record in enumerate(records):
                try:
                    values = {key: _decode(value) for key, value in record.items()}
                    if model is ChunkRow:
                        values.pop("id", None)
                    found = (_find_chunk(s, values) if model is ChunkRow
                             else s.get(model, _identity(model, values)) is not None)
                except (AttributeError, KeyError, TypeError):
                    raise ExportFormatError(
                        f"{file} is damaged: record {index + 1} of '{name}' has no id.") from None
                if found:
                    present += 1
                    continue
                try:
                    s.add(model(**values))
                    s.flush()
                except TypeError as error:
                    raise ExportFormatError(
                        f"{file} is damaged: record {index + 1} of '{name}': {error}.") from None
                added += 1
            result.added[name] = added
            result.already_present[name] = present
    return result
