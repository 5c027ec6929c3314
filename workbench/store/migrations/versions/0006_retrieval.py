"""The retrieval lab: document sets, documents, chunks with an FTS5 index kept in step by
triggers, embedding spaces and which chunks have a vector in each, what retrieval put into an
output's prompt, and a variant's retrieval settings. The unused ``documents``/``chunks`` tables
of 0001 (never written by any release) are replaced.

The vectors themselves live in sqlite-vec ``vec0`` tables, one per embedding space, made when
a space is first used (repositories/vectors.py): their dimension varies with the model, so
they are no part of a fixed schema.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.String(36)

# External-content FTS5 over chunks.text: the text is stored once (in chunks); the triggers
# keep the index in step, including when a document's chunks go by cascade.
FTS = [
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id', "
    "tokenize = 'porter unicode61')",
    """CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END""",
    """CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    END""",
    """CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
        INSERT INTO chunks_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END""",
]


def _fk(name, target, ondelete="CASCADE", nullable=False, index=True, type_=ID):
    return sa.Column(name, type_, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable,
                     index=index)


def upgrade() -> None:
    op.drop_table("chunks")
    op.drop_table("documents")
    op.create_table(
        "embedding_spaces",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("model_path", sa.Text, nullable=False),
        sa.Column("model_name", sa.Text, nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("pooling", sa.String(16), nullable=False),
        sa.UniqueConstraint("model_sha256", "dim", "pooling"))
    op.create_table(
        "document_sets",
        sa.Column("id", ID, primary_key=True),
        _fk("session_id", "sessions.id", nullable=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("chunking", sa.JSON, nullable=False),
        _fk("space_id", "embedding_spaces.id", "SET NULL", nullable=True, index=False,
            type_=sa.Integer),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("session_id", "name"))
    op.create_table(
        "documents",
        sa.Column("id", ID, primary_key=True),
        _fk("set_id", "document_sets.id"),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False))
    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("document_id", "documents.id"),
        sa.Column("set_id", ID, nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False))
    op.create_table(
        "chunk_embeddings",
        sa.Column("chunk_id", sa.Integer, sa.ForeignKey("chunks.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("space_id", sa.Integer,
                  sa.ForeignKey("embedding_spaces.id", ondelete="CASCADE"), primary_key=True))
    op.create_table(
        "output_retrievals",
        sa.Column("output_id", ID, sa.ForeignKey("outputs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("chunks", sa.JSON, nullable=False))
    for statement in FTS:
        op.execute(statement)
    # Rows stored before have no retrieval: "{}" reads as RetrievalSettings() (mode "none").
    for table in ("session_variants", "variants"):
        op.add_column(table, sa.Column("retrieval", sa.JSON, nullable=False,
                                       server_default=sa.text("'{}'")))


def downgrade() -> None:
    for table in ("session_variants", "variants"):
        op.drop_column(table, "retrieval")
    for trigger in ("chunks_fts_insert", "chunks_fts_delete", "chunks_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS chunks_fts")
    for table in ("output_retrievals", "chunk_embeddings", "chunks", "documents",
                  "document_sets", "embedding_spaces"):
        op.drop_table(table)
    op.create_table(
        "documents", sa.Column("id", ID, primary_key=True),
        _fk("session_id", "sessions.id", nullable=True),
        sa.Column("title", sa.Text, nullable=False), sa.Column("source", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False))
    op.create_table(
        "chunks", sa.Column("id", ID, primary_key=True), _fk("document_id", "documents.id"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=True))
