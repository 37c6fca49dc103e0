"""market figures kept incrementally: one observation per listing, price cohort bins and
certificate display counts, so a match run reads what its new snapshots need instead of every
listing (crawler/app/market.py); empty at first, built by the next match run

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_observations",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=64), nullable=True),
        sa.Column("cohort_brand", sa.Text(), nullable=True),
        sa.Column("cohort_category", sa.String(length=32), nullable=True),
        sa.Column("cohort_noun", sa.Text(), nullable=True),
        sa.Column("price_bin", sa.Integer(), nullable=True),
        sa.Column("certs_shown", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_market_observations_listing_id_listings")),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_market_observations")),
    )
    op.create_table(
        "price_cohort_bins",
        sa.Column("brand", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("noun", sa.Text(), nullable=False),
        sa.Column("bin", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("brand", "category", "noun", "bin", name=op.f("pk_price_cohort_bins")),
    )
    op.create_table(
        "certificate_display",
        sa.Column("marketplace", sa.String(length=64), nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("marketplace", name=op.f("pk_certificate_display")),
    )
    op.create_table(
        "market_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("categories_hash", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_state")),
    )


def downgrade() -> None:
    op.drop_table("market_state")
    op.drop_table("certificate_display")
    op.drop_table("price_cohort_bins")
    op.drop_table("market_observations")
