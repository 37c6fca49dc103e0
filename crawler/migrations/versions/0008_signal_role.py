"""suspect signals: role, decisive (evidence that flagged the listing) or context

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suspect_signals") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="decisive"))


def downgrade() -> None:
    with op.batch_alter_table("suspect_signals") as batch:
        batch.drop_column("role")
