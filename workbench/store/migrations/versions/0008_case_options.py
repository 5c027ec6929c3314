"""promptfoo's test options on a test case: ``transform`` (JavaScript run on the output before
its checks) and ``transformVars`` (JavaScript run on its variables before rendering).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("test_cases", sa.Column("options", sa.JSON, nullable=False,
                                          server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column("test_cases", "options")
