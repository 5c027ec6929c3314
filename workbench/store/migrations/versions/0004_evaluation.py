"""The evaluation lab: assertions on test cases and case-set defaults, the repeat and total time
of an output, and stored suites, evaluated runs and their per-output verdicts.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.String(36)


def _fk(name, target, ondelete="CASCADE", nullable=False, index=True, **kw):
    return sa.Column(name, ID, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable,
                     index=index, **kw)


def upgrade() -> None:
    # Added columns carry server defaults: SQLite needs one to add a NOT NULL column, and the
    # rows already there get exactly what a new row without assertions gets.
    op.add_column("test_cases", sa.Column("assertions", sa.JSON, nullable=False,
                                          server_default=sa.text("'[]'")))
    op.add_column("test_cases", sa.Column("threshold", sa.Float, nullable=True))
    op.add_column("test_cases", sa.Column("description", sa.Text, nullable=False,
                                          server_default=sa.text("''")))
    op.add_column("case_sets", sa.Column("defaults", sa.JSON, nullable=False,
                                         server_default=sa.text("'{}'")))
    op.add_column("outputs", sa.Column("total_s", sa.Float, nullable=True))
    op.add_column("outputs", sa.Column("repeat", sa.Integer, nullable=False,
                                       server_default=sa.text("0")))

    op.create_table(
        "eval_suites", sa.Column("id", ID, primary_key=True),
        _fk("session_id", "sessions.id"),
        _fk("case_set_id", "case_sets.id"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("yaml_text", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False))
    op.create_table(
        "eval_runs",
        _fk("run_id", "runs.id", index=False, primary_key=True),
        _fk("suite_id", "eval_suites.id", "SET NULL", nullable=True),
        sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False))
    op.create_table(
        "eval_results", sa.Column("id", ID, primary_key=True),
        _fk("run_id", "runs.id"),
        _fk("output_id", "outputs.id", unique=True),
        sa.Column("variant_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("repeat", sa.Integer, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("verdict", sa.JSON, nullable=False))


def downgrade() -> None:
    for table in ("eval_results", "eval_runs", "eval_suites"):
        op.drop_table(table)
    # SQLite 3.35+ drops columns in place; copying the tables instead (batch mode) would lose
    # the search triggers on outputs and cascade-delete the ratings that point at them.
    for table, column in (("outputs", "repeat"), ("outputs", "total_s"),
                          ("case_sets", "defaults"), ("test_cases", "description"),
                          ("test_cases", "threshold"), ("test_cases", "assertions")):
        op.drop_column(table, column)
