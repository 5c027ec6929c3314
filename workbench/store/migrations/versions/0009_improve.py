"""Improve: searches for a better prompt (``improve_jobs``) and every candidate they tried
(``improve_candidates``: its prompt version, settings, lineage and evaluations).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "improve_jobs", sa.Column("id", ID, primary_key=True),
        sa.Column("session_id", ID, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("start_version_id", ID,
                  sa.ForeignKey("prompt_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("split", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("elapsed_s", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False))
    op.create_table(
        "improve_candidates", sa.Column("id", ID, primary_key=True),
        sa.Column("job_id", ID, sa.ForeignKey("improve_jobs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("version_id", ID, sa.ForeignKey("prompt_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("critique", sa.Text, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("evaluations", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("job_id", "slot"))


def downgrade() -> None:
    op.drop_table("improve_candidates")
    op.drop_table("improve_jobs")
