"""Initial schema: sessions, prompts and versions, cases, models, adapters, runs, outputs,
ratings, tune jobs, documents.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from workbench.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(36)


def _id():
    return sa.Column("id", ID, primary_key=True)


def _fk(name, target, ondelete="CASCADE", nullable=False, index=True):
    return sa.Column(name, ID, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable,
                     index=index)


def _created(name="created_at", nullable=False):
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    """The tables in the order their foreign keys need: each group after what it points at."""
    _sessions_prompts_and_cases()
    _models_and_tuning()
    _runs_and_outputs()
    _ratings()
    _documents()


def _sessions_prompts_and_cases() -> None:
    op.create_table("sessions", _id(), sa.Column("name", sa.Text, nullable=False),
                    sa.Column("notes", sa.Text, nullable=False), _created(),
                    _created("updated_at"))
    op.create_table("prompts", _id(), _fk("session_id", "sessions.id"),
                    sa.Column("name", sa.Text, nullable=False), _created())
    op.create_table(
        "prompt_versions", _id(), _fk("prompt_id", "prompts.id"),
        sa.Column("system_prompt", sa.Text, nullable=False),
        sa.Column("examples", sa.JSON, nullable=False),
        sa.Column("user_template", sa.Text, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        _fk("parent_id", "prompt_versions.id", "SET NULL", nullable=True, index=False),
        sa.Column("note", sa.Text, nullable=False), _created())
    op.create_table("case_sets", _id(), _fk("session_id", "sessions.id"),
                    sa.Column("name", sa.Text, nullable=False), _created())
    op.create_table("test_cases", _id(), _fk("case_set_id", "case_sets.id"),
                    sa.Column("position", sa.Integer, nullable=False),
                    sa.Column("variables", sa.JSON, nullable=False),
                    sa.Column("expected", sa.Text, nullable=True))


def _models_and_tuning() -> None:
    op.create_table("models", _id(), sa.Column("path", sa.Text, nullable=False, unique=True),
                    sa.Column("sha256", sa.String(64), nullable=True),
                    sa.Column("size", sa.Integer, nullable=False),
                    sa.Column("name", sa.Text, nullable=False),
                    sa.Column("source", sa.String(32), nullable=False),
                    sa.Column("metadata", sa.JSON, nullable=False), _created("added_at"))
    op.create_table("tune_jobs", _id(),
                    _fk("session_id", "sessions.id", "SET NULL", nullable=True),
                    sa.Column("config", sa.JSON, nullable=False),
                    sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("metrics", sa.JSON, nullable=False),
                    sa.Column("artifacts", sa.JSON, nullable=False),
                    sa.Column("error", sa.Text, nullable=True), _created(),
                    _created("updated_at"))
    op.create_table("adapters", _id(), sa.Column("path", sa.Text, nullable=False, unique=True),
                    _fk("base_model_id", "models.id", "SET NULL", nullable=True, index=False),
                    _fk("tune_job_id", "tune_jobs.id", "SET NULL", nullable=True, index=False),
                    sa.Column("name", sa.Text, nullable=False), _created())


def _runs_and_outputs() -> None:
    op.create_table("runs", _id(), _fk("session_id", "sessions.id"),
                    sa.Column("name", sa.Text, nullable=False),
                    _fk("case_set_id", "case_sets.id", "SET NULL", nullable=True, index=False),
                    sa.Column("status", sa.String(16), nullable=False), _created(),
                    _created("finished_at", nullable=True))
    op.create_table("variants", _id(), _fk("run_id", "runs.id"),
                    sa.Column("position", sa.Integer, nullable=False),
                    sa.Column("label", sa.Text, nullable=False),
                    _fk("prompt_version_id", "prompt_versions.id", index=False),
                    sa.Column("model_path", sa.Text, nullable=False),
                    sa.Column("model_sha256", sa.String(64), nullable=True),
                    sa.Column("sampling", sa.JSON, nullable=False),
                    sa.Column("adapter_path", sa.Text, nullable=True),
                    sa.Column("adapter_scale", sa.Float, nullable=False),
                    sa.Column("engine_settings", sa.JSON, nullable=False))
    op.create_table(
        "outputs", _id(), _fk("run_id", "runs.id"), _fk("variant_id", "variants.id"),
        _fk("case_id", "test_cases.id", "SET NULL", nullable=True, index=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("token_count", sa.Integer, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("time_to_first_token_s", sa.Float, nullable=True),
        sa.Column("tokens_per_second", sa.Float, nullable=True),
        sa.Column("finish_reason", sa.String(16), nullable=False),
        sa.Column("sampling", sa.JSON, nullable=False),
        sa.Column("seed", sa.Integer, nullable=True),
        sa.Column("model_path", sa.Text, nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=True),
        sa.Column("chat_template", sa.Text, nullable=True),
        sa.Column("adapter_path", sa.Text, nullable=True),
        sa.Column("adapter_scale", sa.Float, nullable=True),
        sa.Column("engine_settings", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True), _created())


def _ratings() -> None:
    op.create_table("ratings", _id(), _fk("output_id", "outputs.id"),
                    sa.Column("score", sa.Integer, nullable=False),
                    sa.Column("rater", sa.Text, nullable=False),
                    sa.Column("blind", sa.Boolean, nullable=False),
                    sa.Column("note", sa.Text, nullable=False), _created())
    op.create_table("preferences", _id(), _fk("output_a_id", "outputs.id"),
                    _fk("output_b_id", "outputs.id"),
                    sa.Column("winner", sa.String(4), nullable=False),
                    sa.Column("rater", sa.Text, nullable=False),
                    sa.Column("blind", sa.Boolean, nullable=False),
                    sa.Column("note", sa.Text, nullable=False), _created())


def _documents() -> None:
    op.create_table("documents", _id(), _fk("session_id", "sessions.id", nullable=True),
                    sa.Column("title", sa.Text, nullable=False),
                    sa.Column("source", sa.Text, nullable=False),
                    sa.Column("text", sa.Text, nullable=False), _created())
    op.create_table("chunks", _id(), _fk("document_id", "documents.id"),
                    sa.Column("position", sa.Integer, nullable=False),
                    sa.Column("text", sa.Text, nullable=False),
                    sa.Column("embedding", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    for table in ("chunks", "documents", "preferences", "ratings", "outputs", "variants", "runs",
                  "adapters", "tune_jobs", "models", "test_cases", "case_sets",
                  "prompt_versions", "prompts", "sessions"):
        op.drop_table(table)
