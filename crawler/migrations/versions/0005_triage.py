"""triage: suspect status history, sampling orders, digests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suspects") as batch:
        batch.add_column(sa.Column("status_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("dismissed_snapshot_id", sa.Integer(), nullable=True))
    op.create_table(
        "suspect_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suspect_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["suspect_id"], ["suspects.id"], name=op.f("fk_suspect_events_suspect_id_suspects"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspect_events")),
    )
    op.create_index(op.f("ix_suspect_events_suspect_id"), "suspect_events", ["suspect_id"], unique=False)
    op.create_table(
        "sampling_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suspect_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ordered_by", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("tests", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=True),
        sa.Column("result_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_by", sa.String(length=64), nullable=True),
        sa.Column("result_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["suspect_id"], ["suspects.id"], name=op.f("fk_sampling_orders_suspect_id_suspects"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_orders")),
    )
    op.create_index(op.f("ix_sampling_orders_suspect_id"), "sampling_orders", ["suspect_id"], unique=False)
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("new_rows", sa.Integer(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_index(op.f("ix_sampling_orders_suspect_id"), table_name="sampling_orders")
    op.drop_table("sampling_orders")
    op.drop_index(op.f("ix_suspect_events_suspect_id"), table_name="suspect_events")
    op.drop_table("suspect_events")
    with op.batch_alter_table("suspects") as batch:
        batch.drop_column("dismissed_snapshot_id")
        batch.drop_column("note")
        batch.drop_column("status_at")
        batch.drop_column("status_by")
