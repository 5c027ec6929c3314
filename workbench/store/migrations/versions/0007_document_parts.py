"""A document's text in parts (``document_parts``), so that adding or re-chunking a large file
never holds its whole text: the parts are written a batch at a time with its chunks, and read
back one at a time. Documents stored before keep their text in ``documents.text``.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_parts",
        sa.Column("document_id", sa.String(36),
                  sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False))


def downgrade() -> None:
    # The parts go back into documents.text (a downgraded app reads the text from there).
    op.execute("UPDATE documents SET text = (SELECT group_concat(text, '') FROM "
               "(SELECT text FROM document_parts p WHERE p.document_id = documents.id "
               "ORDER BY p.position)) WHERE id IN (SELECT document_id FROM document_parts)")
    op.drop_table("document_parts")
