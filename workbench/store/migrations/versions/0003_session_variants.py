"""Each session's variant rows (the variants table), saved like its prompt.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_variants",
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=True),
        sa.Column("adapter_path", sa.Text, nullable=True),
        sa.Column("adapter_scale", sa.Float, nullable=False),
        sa.Column("temperature", sa.Float, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("max_tokens", sa.Integer, nullable=False),
        sa.Column("sampling_flags", sa.Text, nullable=False),
        sa.Column("engine_flags", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_variants")
