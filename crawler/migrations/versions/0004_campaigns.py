"""campaigns, leases, and campaign fields on crawl runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("profiles", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("max_pages", sa.Integer(), nullable=True),
        sa.Column("max_listings", sa.Integer(), nullable=True),
        sa.Column("max_runtime", sa.Integer(), nullable=True),
        sa.Column("evidence_policy", sa.String(length=32), nullable=False),
        sa.Column("notify_threshold", sa.Integer(), nullable=True),
        sa.Column("sandbox_url", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("trigger", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("stages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("log_path", sa.Text(), nullable=True))
        batch.add_column(sa.Column("suspects_new", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index(batch.f("ix_crawl_runs_campaign_id"), ["campaign_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_crawl_runs_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_constraint(batch.f("fk_crawl_runs_campaign_id_campaigns"), type_="foreignkey")
        batch.drop_index(batch.f("ix_crawl_runs_campaign_id"))
        batch.drop_column("suspects_new")
        batch.drop_column("log_path")
        batch.drop_column("stages")
        batch.drop_column("trigger")
        batch.drop_column("campaign_id")
    op.drop_table("leases")
    op.drop_table("campaigns")
