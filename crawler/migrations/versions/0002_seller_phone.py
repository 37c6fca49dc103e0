"""seller phone (shop contact, for seller networks)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sellers") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_sellers_phone"), ["phone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sellers") as batch:
        batch.drop_index(batch.f("ix_sellers_phone"))
        batch.drop_column("phone")
