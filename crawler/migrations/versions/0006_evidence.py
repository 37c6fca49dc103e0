"""evidence captures

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("suspect_id", sa.Integer(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"], name=op.f("fk_evidence_captures_listing_id_listings")),
        sa.ForeignKeyConstraint(["suspect_id"], ["suspects.id"], name=op.f("fk_evidence_captures_suspect_id_suspects"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["listing_snapshots.id"],
                                name=op.f("fk_evidence_captures_snapshot_id_listing_snapshots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_captures")),
    )
    op.create_index(op.f("ix_evidence_captures_listing_id"), "evidence_captures", ["listing_id"], unique=False)
    op.create_index(op.f("ix_evidence_captures_suspect_id"), "evidence_captures", ["suspect_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_captures_suspect_id"), table_name="evidence_captures")
    op.drop_index(op.f("ix_evidence_captures_listing_id"), table_name="evidence_captures")
    op.drop_table("evidence_captures")
