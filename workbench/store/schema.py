"""The tables, as SQLAlchemy 2 typed declarative models.

Migrations under ``migrations/versions`` create exactly this schema; a test compares the two.
Ids are UUID strings made by the domain objects, so exports merge by identity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql  # "text" is a column of OutputRow
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _fk(target: str, ondelete: str = "CASCADE"):
    return ForeignKey(target, ondelete=ondelete)


class SessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PromptRow(Base):
    __tablename__ = "prompts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PromptVersionRow(Base):
    __tablename__ = "prompt_versions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    prompt_id: Mapped[str] = mapped_column(_fk("prompts.id"), index=True)
    system_prompt: Mapped[str] = mapped_column(Text)
    examples: Mapped[list[Any]]
    user_template: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[Any]]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    parent_id: Mapped[str | None] = mapped_column(_fk("prompt_versions.id", "SET NULL"))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CaseSetRow(Base):
    __tablename__ = "case_sets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # revision 0004: {"assertions": [Assertion.to_dict …], "threshold": …, "judge": …}
    defaults: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=sql("'{}'"))


class TestCaseRow(Base):
    __tablename__ = "test_cases"
    __test__ = False
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_set_id: Mapped[str] = mapped_column(_fk("case_sets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    variables: Mapped[dict[str, Any]]
    expected: Mapped[str | None] = mapped_column(Text)
    # revision 0004: the evaluation lab
    assertions: Mapped[list[Any]] = mapped_column(default=list, server_default=sql("'[]'"))
    threshold: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="", server_default=sql("''"))
    # revision 0008: promptfoo's test options, {"transform": …, "transformVars": …}
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=sql("'{}'"))


class ModelRow(Base):
    __tablename__ = "models"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    model_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    added_at: Mapped[datetime]


class TuneJobRow(Base):
    __tablename__ = "tune_jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str | None] = mapped_column(_fk("sessions.id", "SET NULL"), index=True)
    config: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[list[Any]]
    artifacts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AdapterRow(Base):
    __tablename__ = "adapters"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    base_model_id: Mapped[str | None] = mapped_column(_fk("models.id", "SET NULL"))
    tune_job_id: Mapped[str | None] = mapped_column(_fk("tune_jobs.id", "SET NULL"))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    case_set_id: Mapped[str | None] = mapped_column(_fk("case_sets.id", "SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class VariantRow(Base):
    __tablename__ = "variants"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    prompt_version_id: Mapped[str] = mapped_column(_fk("prompt_versions.id"))
    model_path: Mapped[str] = mapped_column(Text)
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    sampling: Mapped[dict[str, Any]]
    adapter_path: Mapped[str | None] = mapped_column(Text)
    adapter_scale: Mapped[float] = mapped_column(Float)
    engine_settings: Mapped[dict[str, Any]]
    # revision 0006: core.retrieval.RetrievalSettings.to_dict ("{}": no retrieval)
    retrieval: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=sql("'{}'"))


class OutputRow(Base):
    __tablename__ = "outputs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), index=True)
    variant_id: Mapped[str] = mapped_column(_fk("variants.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(_fk("test_cases.id", "SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    time_to_first_token_s: Mapped[float | None] = mapped_column(Float)
    tokens_per_second: Mapped[float | None] = mapped_column(Float)
    finish_reason: Mapped[str] = mapped_column(String(16))
    sampling: Mapped[dict[str, Any]]
    seed: Mapped[int | None] = mapped_column(Integer)
    model_path: Mapped[str] = mapped_column(Text)
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    chat_template: Mapped[str | None] = mapped_column(Text)
    adapter_path: Mapped[str | None] = mapped_column(Text)
    adapter_scale: Mapped[float | None] = mapped_column(Float)
    engine_settings: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # revision 0004: the evaluation lab
    total_s: Mapped[float | None] = mapped_column(Float)
    repeat: Mapped[int] = mapped_column(Integer, default=0, server_default=sql("0"))
    # revision 0005, the token inspector (an output's trace is in output_traces). A branch:
    # the output it was branched from (no foreign key: a branch outlives its parent, and
    # SQLite cannot add one to an existing table), and the tokens forced at its start.
    branch_of: Mapped[str | None] = mapped_column(String(36))
    forced_tokens: Mapped[list[Any]] = mapped_column(default=list, server_default=sql("'[]'"))


class RatingRow(Base):
    __tablename__ = "ratings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    output_id: Mapped[str] = mapped_column(_fk("outputs.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    rater: Mapped[str] = mapped_column(Text)
    blind: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PreferenceRow(Base):
    __tablename__ = "preferences"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    output_a_id: Mapped[str] = mapped_column(_fk("outputs.id"), index=True)
    output_b_id: Mapped[str] = mapped_column(_fk("outputs.id"), index=True)
    winner: Mapped[str] = mapped_column(String(4))
    rater: Mapped[str] = mapped_column(Text)
    blind: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


# -- revision 0002 ------------------------------------------------------------------------

class DraftRow(Base):
    __tablename__ = "drafts"
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class SearchRefRow(Base):
    """What each full-text index row points at; kept in step by triggers (migration 0002)."""

    __tablename__ = "search_refs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(36), unique=True)
    session_id: Mapped[str | None] = mapped_column(String(36), index=True)


# -- revision 0003 ------------------------------------------------------------------------

class SessionVariantRow(Base):
    """One row of a session's variants table (core.session_variants.SessionVariant)."""

    __tablename__ = "session_variants"
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str] = mapped_column(Text)  # "current" or a version id: no FK
    model: Mapped[str | None] = mapped_column(Text)
    adapter_path: Mapped[str | None] = mapped_column(Text)
    adapter_scale: Mapped[float] = mapped_column(Float)
    temperature: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    max_tokens: Mapped[int] = mapped_column(Integer)
    sampling_flags: Mapped[str] = mapped_column(Text)
    engine_flags: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    # revision 0006: core.retrieval.RetrievalSettings.to_dict ("{}": no retrieval)
    retrieval: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=sql("'{}'"))


# -- revision 0004 ------------------------------------------------------------------------

class EvalSuiteRow(Base):
    """A suite kept in a session (core.suites.StoredSuite); its cases live in the case set."""

    __tablename__ = "eval_suites"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), index=True)
    case_set_id: Mapped[str] = mapped_column(_fk("case_sets.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    source_path: Mapped[str] = mapped_column(Text)
    yaml_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class EvalRunRow(Base):
    """A run that was evaluated (core.evaluation.EvalRun): one row per run, at most."""

    __tablename__ = "eval_runs"
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), primary_key=True)
    suite_id: Mapped[str | None] = mapped_column(_fk("eval_suites.id", "SET NULL"), index=True)
    repeats: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class EvalResultRow(Base):
    """The verdict on one output (core.evaluation.EvalResult). ``run_id`` points at the run,
    not its eval_runs row, so a grid can keep verdicts before (or without) a summary.
    ``variant_id`` and ``case_id`` are copied from the output so pass rates need no join."""

    __tablename__ = "eval_results"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), index=True)
    output_id: Mapped[str] = mapped_column(_fk("outputs.id"), index=True, unique=True)
    variant_id: Mapped[str] = mapped_column(String(36))
    case_id: Mapped[str] = mapped_column(String(36))
    repeat: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[dict[str, Any]]


# -- revision 0005 ------------------------------------------------------------------------

class OutputTraceRow(Base):
    """An output's tokens as generated (core.tokens.TokenTrace.pack: ~10 bytes a token, ~10
    more plus the bytes per alternative), for outputs that have one.

    A table of its own, not a column of ``outputs``: a grid reads thousands of outputs and no
    trace. A blob inside the outputs rows (17 kB for 200 tokens with 5 alternatives) spills
    into overflow pages that SQLite walks to reach any column stored after it, even when the
    blob is not selected: reading 2,000 outputs' columns went from 1.9 to 8.9 ms in SQLite
    (measured with the blob before two columns, as an added column puts it for new rows).
    Here the traces cost a grid nothing; one is read by its output's id."""

    __tablename__ = "output_traces"
    output_id: Mapped[str] = mapped_column(_fk("outputs.id"), primary_key=True)
    trace: Mapped[bytes] = mapped_column(LargeBinary)


# -- revision 0006: the retrieval lab ------------------------------------------------------
# Besides these tables: ``chunks_fts`` (FTS5 over chunks.text, external content, kept in step
# by triggers) from the migration, and one sqlite-vec ``vec_<space id>`` table per embedding
# space, made when the space is first used (repositories/vectors.py): its dimension varies.

class EmbeddingSpaceRow(Base):
    """What vectors were made with (core.retrieval.EmbeddingSpace)."""

    __tablename__ = "embedding_spaces"
    __table_args__ = (UniqueConstraint("model_sha256", "dim", "pooling"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_sha256: Mapped[str] = mapped_column(String(64))
    model_path: Mapped[str] = mapped_column(Text)
    model_name: Mapped[str] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer)
    pooling: Mapped[str] = mapped_column(String(16))


class DocumentSetRow(Base):
    __tablename__ = "document_sets"
    __table_args__ = (UniqueConstraint("session_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str | None] = mapped_column(_fk("sessions.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    chunking: Mapped[dict[str, Any]]
    # The space the set's search uses (None: not embedded). Switched only once every chunk
    # has a vector in the new space.
    space_id: Mapped[int | None] = mapped_column(_fk("embedding_spaces.id", "SET NULL"))
    created_at: Mapped[datetime]


class DocumentRow(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    set_id: Mapped[str] = mapped_column(_fk("document_sets.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChunkRow(Base):
    """A chunk; its integer id is the rowid of its FTS5 row and of its vectors."""

    __tablename__ = "chunks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(_fk("documents.id"), index=True)
    set_id: Mapped[str] = mapped_column(String(36), index=True)  # copied: filters need no join
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)  # characters into the document's text
    end: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)


class ChunkEmbeddingRow(Base):
    """Which chunks have a vector in which space: what makes re-embedding resumable."""

    __tablename__ = "chunk_embeddings"
    chunk_id: Mapped[int] = mapped_column(_fk("chunks.id"), primary_key=True)
    space_id: Mapped[int] = mapped_column(_fk("embedding_spaces.id"), primary_key=True)


class OutputRetrievalRow(Base):
    """What retrieval put into an output's prompt: the settings and the chunks (as
    core.retrieval.Retrieved dicts, so the cell still shows them after the set changes)."""

    __tablename__ = "output_retrievals"
    output_id: Mapped[str] = mapped_column(_fk("outputs.id"), primary_key=True)
    settings: Mapped[dict[str, Any]]
    chunks: Mapped[list[Any]]


# -- revision 0007 ------------------------------------------------------------------------

class DocumentPartRow(Base):
    """A document's text a part at a time (about a megabyte each, ``start`` its first
    character's offset in the whole text), so that storing or reading a large document never
    holds all of it. Documents stored before revision 0007 keep their text in
    ``documents.text`` and have no parts; later ones have an empty ``documents.text``."""

    __tablename__ = "document_parts"
    document_id: Mapped[str] = mapped_column(_fk("documents.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


# -- revision 0009 ------------------------------------------------------------------------

class ImproveJobRow(Base):
    """A search for a better prompt (core.improve.ImproveJob): its request, its split and, at
    the end, its evidence."""

    __tablename__ = "improve_jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(_fk("sessions.id"), index=True)
    start_version_id: Mapped[str] = mapped_column(_fk("prompt_versions.id"))
    request: Mapped[dict[str, Any]]
    split: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]]
    elapsed_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ImproveCandidateRow(Base):
    """One prompt a search tried (core.improve.Candidate): its version, settings, lineage and
    evaluations (JSON: run ids with their pass counts). ``slot`` is unique in its job."""

    __tablename__ = "improve_candidates"
    __table_args__ = (UniqueConstraint("job_id", "slot"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(_fk("improve_jobs.id"), index=True)
    slot: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[str] = mapped_column(_fk("prompt_versions.id"))
    parent_id: Mapped[str | None] = mapped_column(String(36))
    settings: Mapped[dict[str, Any]]
    change: Mapped[str] = mapped_column(Text)
    critique: Mapped[str] = mapped_column(Text)
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    evaluations: Mapped[list[Any]]
    created_at: Mapped[datetime]
