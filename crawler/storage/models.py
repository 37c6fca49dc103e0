"""The database schema: typed SQLAlchemy 2 models. Alembic migrations in crawler/migrations follow it.

Identity rules: a `Listing` is (marketplace, listing_key); a `Seller` is (marketplace,
seller_key). A `ListingSnapshot` is one observation whose content differs from the listing's
previous snapshot, so re-crawling unchanged pages adds nothing but a `last_seen_at`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A moment, stored in UTC and always read back as an aware UTC datetime: PostgreSQL keeps
    the zone (timestamptz), SQLite does not, and this type makes the two the same, so no code
    has to patch a naive value after reading it. A naive value written is taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


# Named constraints so migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    spider: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # running -> finished | failed | interrupted
    status: Mapped[str] = mapped_column(String(16), default="running")
    pages: Mapped[int] = mapped_column(default=0)
    items_scraped: Mapped[int] = mapped_column(default=0)
    items_dropped: Mapped[int] = mapped_column(default=0)
    listings_new: Mapped[int] = mapped_column(default=0)
    snapshots_new: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    error_text: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Per profile: field coverage, block and HTTP error rates, results per search page
    # (crawler.health); degraded = coverage fell well below the profile's recent runs.
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    degraded: Mapped[bool] = mapped_column(default=False)
    degraded_reason: Mapped[str | None] = mapped_column(Text)
    # A campaign run is a crawl run with stages after it (crawler.campaigns): which campaign,
    # what started it (schedule / manual), each stage's outcome, and where its log is.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    trigger: Mapped[str | None] = mapped_column(String(16))
    stages: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    log_path: Mapped[str | None] = mapped_column(Text)
    suspects_new: Mapped[int] = mapped_column(default=0)
    # The process crawling the run (not for runs shared through Redis: their workers have
    # crawl_run_workers rows): a 'running' run whose process is gone was killed
    # (crawler.storage.runs.mark_interrupted).
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]


class CrawlRunWorker(Base):
    """One worker's part of a crawl run shared through Redis (crawler.scheduling.frontier): its counts,
    written as it goes, so the run's totals are the sum even when a worker was killed."""

    __tablename__ = "crawl_run_workers"

    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), primary_key=True)
    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished | failed | interrupted
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    pages: Mapped[int] = mapped_column(default=0)
    listings: Mapped[int] = mapped_column(default=0)
    listings_new: Mapped[int] = mapped_column(default=0)
    snapshots_new: Mapped[int] = mapped_column(default=0)
    dropped: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    requeued: Mapped[int] = mapped_column(default=0)  # requests of dead workers this one put back


class Campaign(Base):
    """A crawl campaign an operator plans: what to search where, how often, within what limits."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # taxonomy slugs
    profiles: Mapped[list[str]] = mapped_column(JSON, default=list)  # site profile names
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: the categories' keywords
    schedule: Mapped[str] = mapped_column(String(64))  # "cron:0 3 * * *" or "every:6h"
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    max_pages: Mapped[int | None]  # result pages per keyword
    max_listings: Mapped[int | None]  # listings per run
    max_runtime: Mapped[int | None]  # seconds per crawl
    evidence_policy: Mapped[str] = mapped_column(String(32), default="suspects")
    notify_threshold: Mapped[int | None]  # notify when a run finds at least this many new suspects
    sandbox_url: Mapped[str | None] = mapped_column(Text)  # base URL for the sandbox flavours
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lease(Base):
    """A named lock with an expiry, held by one process (host:pid): one run per campaign at a
    time, across any number of schedulers. A holder that dies lets it expire; a live one renews."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    run_id: Mapped[int | None]


class Seller(Base):
    __tablename__ = "sellers"
    __table_args__ = (UniqueConstraint("marketplace", "seller_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(64))
    seller_key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text)
    shop_url: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    # Contact shown on the shop page: the same phone behind several shops is a seller network.
    phone: Mapped[str | None] = mapped_column(String(64), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("marketplace", "listing_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(64))
    listing_key: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), index=True)
    # Hash of the newest snapshot's content: the cheap "did it change?" test on every crawl.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    seller: Mapped[Seller | None] = relationship()
    snapshots: Mapped[list[ListingSnapshot]] = relationship(
        back_populates="listing", order_by="ListingSnapshot.id"
    )


class ListingSnapshot(Base):
    __tablename__ = "listing_snapshots"
    __table_args__ = (Index("ix_listing_snapshots_unscored", "scored_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    seller_name: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    specs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship(back_populates="snapshots")


class Suspect(Base):
    """A listing the matchers flagged; one row per listing, updated when it is seen again."""

    __tablename__ = "suspects"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), unique=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("listing_snapshots.id"))
    score: Mapped[float]
    brand: Mapped[str | None] = mapped_column(Text)
    lookalike_of: Mapped[str | None] = mapped_column(Text)
    # new -> confirmed | false_positive | sampling_ordered | closed
    status: Mapped[str] = mapped_column(String(24), default="new")
    algorithm: Mapped[str] = mapped_column(String(64))
    watchlist_hash: Mapped[str] = mapped_column(String(64))
    first_flagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_flagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Triage (crawler.app.triage): who set the status and when, with the analyst's note. A false
    # positive stays dismissed while the listing's content is the one dismissed (its snapshot).
    status_by: Mapped[str | None] = mapped_column(String(64))
    status_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    dismissed_snapshot_id: Mapped[int | None]
    # Raised by every decision (crawler.app.triage.decide): a decision made on an older
    # version is refused as a conflict instead of overwriting the one made meanwhile.
    version: Mapped[int] = mapped_column(default=0, server_default="0")

    listing: Mapped[Listing] = relationship()
    snapshot: Mapped[ListingSnapshot] = relationship()
    signals: Mapped[list[SuspectSignal]] = relationship(
        back_populates="suspect", cascade="all, delete-orphan", order_by="SuspectSignal.id"
    )


class MarketObservation(Base):
    """What one listing's newest snapshot adds to the market figures (crawler.app.market): its
    price cohort and bin, whether it shows the certificates its category requires."""

    __tablename__ = "market_observations"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    snapshot_id: Mapped[int]
    marketplace: Mapped[str | None] = mapped_column(String(64))
    cohort_brand: Mapped[str | None] = mapped_column(Text)
    cohort_category: Mapped[str | None] = mapped_column(String(32))
    cohort_noun: Mapped[str | None] = mapped_column(Text)
    price_bin: Mapped[int | None]
    certs_shown: Mapped[bool | None]  # None: the category requires none


class PriceCohortBin(Base):
    """How many listings of a price cohort (brand, category, product noun) cost about one price
    (matchers.prices.price_bin): a cohort's median and MAD come from its bins."""

    __tablename__ = "price_cohort_bins"

    brand: Mapped[str] = mapped_column(Text, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    noun: Mapped[str] = mapped_column(Text, primary_key=True)
    bin: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


class CertificateDisplayCount(Base):
    """Per marketplace: listings needing a certificate, and how many of them show theirs."""

    __tablename__ = "certificate_display"

    marketplace: Mapped[str] = mapped_column(String(64), primary_key=True)
    shown: Mapped[int] = mapped_column(default=0)
    needed: Mapped[int] = mapped_column(default=0)


class MarketState(Base):
    """The taxonomy (categories' keywords, price units, required certificates) the market
    figures were built with: another one means building them again from every listing."""

    __tablename__ = "market_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    categories_hash: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A console account: analyst, operator, enforcement or admin (crawler.app.accounts). The
    password is kept only as an Argon2 hash; raising session_version ends its sessions."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class SuspectEvent(Base):
    """The triage history of a suspect: every status change, by whom, when, from where."""

    __tablename__ = "suspect_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    suspect_id: Mapped[int] = mapped_column(ForeignKey("suspects.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))  # cli | import:<file> | sampling | matcher


class SamplingOrder(Base):
    """A test purchase ordered for a suspect, and its result when the lab reports."""

    __tablename__ = "sampling_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    suspect_id: Mapped[int] = mapped_column(ForeignKey("suspects.id", ondelete="CASCADE"), index=True)
    batch: Mapped[str] = mapped_column(String(64))
    ordered_at: Mapped[datetime] = mapped_column(default=utcnow)
    ordered_by: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(default=1)
    tests: Mapped[str] = mapped_column(Text)  # what to test, against which standard
    reason: Mapped[str] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(8))  # pass | fail
    result_at: Mapped[datetime | None]
    result_by: Mapped[str | None] = mapped_column(String(64))
    result_note: Mapped[str | None] = mapped_column(Text)


class Digest(Base):
    """A digest written: when, for which day and campaign; "new since the previous digest" counts from it."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    campaign: Mapped[str | None] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int] = mapped_column(default=0)
    new_rows: Mapped[int] = mapped_column(default=0)
    files: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SuspectSignal(Base):
    """One reason a suspect was flagged: which signal, its weight, and the values that matched."""

    __tablename__ = "suspect_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    suspect_id: Mapped[int] = mapped_column(ForeignKey("suspects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    weight: Mapped[float]
    detail: Mapped[str] = mapped_column(Text)
    listing_value: Mapped[str | None] = mapped_column(Text)
    watchlist_value: Mapped[str | None] = mapped_column(Text)
    # decisive: evidence that flagged the listing; context: shown beside it, never enough alone
    role: Mapped[str] = mapped_column(String(16), default="decisive", server_default="decisive")

    suspect: Mapped[Suspect] = relationship(back_populates="signals")


class EvidenceCapture(Base):
    """What a listing showed at one moment: WARC, screenshot, rendered DOM, extracted JSON,
    signals and versions. The files live in the content-addressed store (OUT/evidence/blobs,
    by SHA-256); `files` maps each name to its hash, size and media type."""

    __tablename__ = "evidence_captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    suspect_id: Mapped[int | None] = mapped_column(ForeignKey("suspects.id", ondelete="SET NULL"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("listing_snapshots.id"))
    url: Mapped[str] = mapped_column(Text)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    trigger: Mapped[str] = mapped_column(String(64))  # on_demand | campaign:<name> | demo
    status: Mapped[str] = mapped_column(String(16))  # ok | failed
    error: Mapped[str | None] = mapped_column(Text)
    files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    record_sha256: Mapped[str | None] = mapped_column(String(64))  # hash of files + meta, pinned at capture
