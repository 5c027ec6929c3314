"""The token inspector: an output's token trace (ids, exact bytes, log-probabilities and
alternatives, packed by core.tokens.TokenTrace) in a table of its own, and a branch's parent
and forced tokens on the output.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Outputs stored before have no trace (no row: the inspector says so) and are no branch.
    op.create_table(
        "output_traces",
        sa.Column("output_id", sa.String(36), sa.ForeignKey("outputs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("trace", sa.LargeBinary, nullable=False))
    op.add_column("outputs", sa.Column("branch_of", sa.String(36), nullable=True))
    op.add_column("outputs", sa.Column("forced_tokens", sa.JSON, nullable=False,
                                       server_default=sa.text("'[]'")))


def downgrade() -> None:
    op.drop_table("output_traces")
    # In place (SQLite 3.35+), as 0004 does: copying the table would lose its search triggers.
    for column in ("forced_tokens", "branch_of"):
        op.drop_column("outputs", column)
