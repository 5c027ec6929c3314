"""Full-text search over prompt versions and outputs (FTS5, kept in step by triggers), and
autosaved drafts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Text a prompt version is found by: its system prompt, template, examples and note.
VERSION_BODY = """
    NEW.system_prompt || char(10) || NEW.user_template || char(10) ||
    coalesce((SELECT group_concat(json_extract(value, '$.input') || char(10) ||
                                  json_extract(value, '$.output'), char(10))
              FROM json_each(NEW.examples)), '') || char(10) || NEW.note
"""

TRIGGERS = [
    # prompt versions
    f"""CREATE TRIGGER search_version_insert AFTER INSERT ON prompt_versions BEGIN
        INSERT INTO search_refs (kind, ref, session_id)
            SELECT 'prompt_version', NEW.id, session_id FROM prompts WHERE id = NEW.prompt_id;
        INSERT INTO search_index (rowid, title, body)
            SELECT last_insert_rowid(), name, {VERSION_BODY} FROM prompts WHERE id = NEW.prompt_id;
    END""",
    """CREATE TRIGGER search_version_delete AFTER DELETE ON prompt_versions BEGIN
        DELETE FROM search_index WHERE rowid = (SELECT id FROM search_refs WHERE ref = OLD.id);
        DELETE FROM search_refs WHERE ref = OLD.id;
    END""",
    f"""CREATE TRIGGER search_version_update AFTER UPDATE ON prompt_versions BEGIN
        UPDATE search_index SET body = {VERSION_BODY}
            WHERE rowid = (SELECT id FROM search_refs WHERE ref = NEW.id);
    END""",
    # outputs
    """CREATE TRIGGER search_output_insert AFTER INSERT ON outputs BEGIN
        INSERT INTO search_refs (kind, ref, session_id)
            SELECT 'output', NEW.id, session_id FROM runs WHERE id = NEW.run_id;
        INSERT INTO search_index (rowid, title, body)
            SELECT last_insert_rowid(), coalesce(nullif(label, ''), model_path), NEW.text
            FROM variants WHERE id = NEW.variant_id;
    END""",
    """CREATE TRIGGER search_output_delete AFTER DELETE ON outputs BEGIN
        DELETE FROM search_index WHERE rowid = (SELECT id FROM search_refs WHERE ref = OLD.id);
        DELETE FROM search_refs WHERE ref = OLD.id;
    END""",
    """CREATE TRIGGER search_output_update AFTER UPDATE OF text ON outputs BEGIN
        UPDATE search_index SET body = NEW.text
            WHERE rowid = (SELECT id FROM search_refs WHERE ref = NEW.id);
    END""",
]


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "search_refs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(36), nullable=False, unique=True),
        sa.Column("session_id", sa.String(36), nullable=True, index=True),
    )
    op.execute("CREATE VIRTUAL TABLE search_index USING fts5("
               "title, body, tokenize = 'unicode61 remove_diacritics 2')")
    for trigger in TRIGGERS:
        op.execute(trigger)
    # Index what an older database already holds.
    op.execute("""INSERT INTO search_refs (kind, ref, session_id)
                  SELECT 'prompt_version', v.id, p.session_id
                  FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id""")
    op.execute(f"""INSERT INTO search_index (rowid, title, body)
                  SELECT r.id, p.name, {VERSION_BODY.replace('NEW.', 'NEW_.')}
                  FROM prompt_versions NEW_ JOIN prompts p ON p.id = NEW_.prompt_id
                  JOIN search_refs r ON r.ref = NEW_.id""")
    op.execute("""INSERT INTO search_refs (kind, ref, session_id)
                  SELECT 'output', o.id, r.session_id FROM outputs o JOIN runs r ON r.id = o.run_id""")
    op.execute("""INSERT INTO search_index (rowid, title, body)
                  SELECT s.id, coalesce(nullif(v.label, ''), v.model_path), o.text
                  FROM outputs o JOIN variants v ON v.id = o.variant_id
                  JOIN search_refs s ON s.ref = o.id""")


def downgrade() -> None:
    for name in ("search_version_insert", "search_version_delete", "search_version_update",
                 "search_output_insert", "search_output_delete", "search_output_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_index")
    op.drop_table("search_refs")
    op.drop_table("drafts")
