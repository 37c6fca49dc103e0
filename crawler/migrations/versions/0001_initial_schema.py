"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crawl_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spider', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('items_scraped', sa.Integer(), nullable=False),
    sa.Column('items_dropped', sa.Integer(), nullable=False),
    sa.Column('listings_new', sa.Integer(), nullable=False),
    sa.Column('snapshots_new', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('error_text', sa.Text(), nullable=True),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crawl_runs'))
    )
    op.create_table('sellers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('marketplace', sa.String(length=64), nullable=False),
    sa.Column('seller_key', sa.String(length=255), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('shop_url', sa.Text(), nullable=True),
    sa.Column('province', sa.String(length=32), nullable=True),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sellers')),
    sa.UniqueConstraint('marketplace', 'seller_key', name=op.f('uq_sellers_marketplace'))
    )
    op.create_table('listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('marketplace', sa.String(length=64), nullable=False),
    sa.Column('listing_key', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('seller_id', sa.Integer(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'], name=op.f('fk_listings_seller_id_sellers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings')),
    sa.UniqueConstraint('marketplace', 'listing_key', name=op.f('uq_listings_marketplace'))
    )
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listings_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_seller_id'), ['seller_id'], unique=False)

    op.create_table('listing_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('crawl_run_id', sa.Integer(), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('seller_name', sa.Text(), nullable=True),
    sa.Column('brand', sa.Text(), nullable=True),
    sa.Column('specs', sa.JSON(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_runs.id'], name=op.f('fk_listing_snapshots_crawl_run_id_crawl_runs')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_snapshots_listing_id_listings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_snapshots'))
    )
    with op.batch_alter_table('listing_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_snapshots_crawl_run_id'), ['crawl_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_snapshots_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index('ix_listing_snapshots_unscored', ['scored_at', 'id'], unique=False)

    op.create_table('suspects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('brand', sa.Text(), nullable=True),
    sa.Column('lookalike_of', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('algorithm', sa.String(length=64), nullable=False),
    sa.Column('watchlist_hash', sa.String(length=64), nullable=False),
    sa.Column('first_flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_suspects_listing_id_listings')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['listing_snapshots.id'], name=op.f('fk_suspects_snapshot_id_listing_snapshots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspects')),
    sa.UniqueConstraint('listing_id', name=op.f('uq_suspects_listing_id'))
    )
    op.create_table('suspect_signals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suspect_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('listing_value', sa.Text(), nullable=True),
    sa.Column('watchlist_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['suspect_id'], ['suspects.id'], name=op.f('fk_suspect_signals_suspect_id_suspects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspect_signals'))
    )
    with op.batch_alter_table('suspect_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suspect_signals_suspect_id'), ['suspect_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('suspect_signals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suspect_signals_suspect_id'))

    op.drop_table('suspect_signals')
    op.drop_table('suspects')
    with op.batch_alter_table('listing_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_listing_snapshots_unscored')
        batch_op.drop_index(batch_op.f('ix_listing_snapshots_listing_id'))
        batch_op.drop_index(batch_op.f('ix_listing_snapshots_crawl_run_id'))

    op.drop_table('listing_snapshots')
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listings_seller_id'))
        batch_op.drop_index(batch_op.f('ix_listings_category'))

    op.drop_table('listings')
    op.drop_table('sellers')
    op.drop_table('crawl_runs')
