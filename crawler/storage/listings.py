"""Writing observed listings: sellers and listings upserted, a snapshot only when content changed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import ListingItem, SellerProfileItem
from crawler.normalise import split_location
from crawler.storage.db import session_scope
from crawler.storage.models import Listing, ListingSnapshot, Seller, utcnow
from crawler.storage.prepared import Prepared
from crawler.storage.upsert import native_insert

# The fields whose change makes a new snapshot; crawl time and raw markup do not.
CONTENT_FIELDS = ("title", "price", "currency", "category", "brand", "seller_key", "seller_name",
                  "seller_province", "seller_city", "specs")


def content_hash(item: ListingItem) -> str:
    content = {name: getattr(item, name) for name in CONTENT_FIELDS}
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SaveOutcome:
    listing_id: int
    new_listing: bool
    new_snapshot: bool


SELLER_KEYS = ("marketplace", "seller_key", "name", "shop_url", "province", "city", "first_seen_at", "last_seen_at")
LISTING_KEYS = ("marketplace", "listing_key", "url", "category", "seller_id", "first_seen_at", "last_seen_at")
SNAPSHOT_KEYS = ("listing_id", "crawl_run_id", "observed_at", "title", "price", "currency", "seller_name", "brand",
                 "specs", "raw", "content_hash")


class _Statements:
    """The writes of one listing, compiled once for a dialect (crawler/storage/prepared.py)."""

    def __init__(self, dialect: Dialect) -> None:
        make_insert = native_insert(dialect.name)
        sellers, listings, snapshots = Seller.__table__, Listing.__table__, ListingSnapshot.__table__
        keys = ["marketplace", "seller_key"]

        seller = make_insert(sellers)
        new = seller.excluded
        self.seller = Prepared(seller.on_conflict_do_update(index_elements=keys, set_={
            "name": new.name, "shop_url": new.shop_url, "province": new.province, "city": new.city,
            "last_seen_at": new.last_seen_at}).returning(sellers.c.id), dialect, SELLER_KEYS)

        # A shop page: its contact on the seller (created if no listing named it yet); a name or
        # place the page leaves empty keeps the one the listings gave.
        profile = make_insert(sellers)
        new = profile.excluded

        def kept(column: str):
            return func.coalesce(func.nullif(new[column], ""), sellers.c[column])

        self.profile = Prepared(profile.on_conflict_do_update(index_elements=keys, set_={
            "name": kept("name"), "province": kept("province"), "city": kept("city"), "phone": new.phone,
            "last_seen_at": new.last_seen_at}).returning(sellers.c.id), dialect, (*SELLER_KEYS, "phone"))

        listing = make_insert(listings)
        new = listing.excluded
        self.listing = Prepared(listing.on_conflict_do_update(index_elements=["marketplace", "listing_key"], set_={
            "last_seen_at": new.last_seen_at, "url": new.url,
            "seller_id": func.coalesce(new.seller_id, listings.c.seller_id),
            "category": func.coalesce(new.category, listings.c.category)})
            .returning(listings.c.id, listings.c.content_hash, listings.c.first_seen_at), dialect, LISTING_KEYS)

        self.snapshot = Prepared(make_insert(snapshots), dialect, SNAPSHOT_KEYS, many=True)
        self.listing_hash = Prepared(update(listings).where(listings.c.id == bindparam("listing"))
                                     .values(content_hash=bindparam("digest")), dialect, ("listing", "digest"),
                                     many=True)


class _Batch:
    """What one transaction has stored and has still to write. Its snapshots are written at its
    end: one executemany for the snapshots and one for the listings' content hashes, instead of
    two statements per changed listing; a listing seen twice in the transaction is compared with
    its newer content, as if written. A seller already upserted in it with the same details (and
    the same moment: one per batch) is not upserted again."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.hashes: dict[int, str] = {}  # listing id -> content hash written in this transaction
        self.sellers: dict[tuple[str, str], tuple[tuple, int]] = {}  # (marketplace, key) -> (details, id)

    def write(self, session: Session, sql: _Statements) -> None:
        sql.snapshot.run_many(session, self.rows)
        sql.listing_hash.run_many(session, [{"listing": k, "digest": v} for k, v in self.hashes.items()])
        self.rows, self.hashes = [], {}


class ListingStore:
    """Idempotent writes of `ListingItem`s; each save is one transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._statements: dict[str, _Statements] = {}

    def _prepared(self, session: Session) -> _Statements:
        dialect = session.get_bind().dialect
        statements = self._statements.get(dialect.name)
        if statements is None:
            statements = self._statements[dialect.name] = _Statements(dialect)
        return statements

    def save(self, item: ListingItem, crawl_run_id: int | None, now: datetime | None = None) -> SaveOutcome:
        with session_scope(self.sessions) as session:
            return self.save_in(session, item, crawl_run_id, now)

    def save_many(self, items: list[ListingItem | SellerProfileItem], crawl_run_id: int | None,
                  now: datetime | None = None) -> list[SaveOutcome | int]:
        """Several listings (and seller profiles) in one transaction: all are stored or none is.
        Returns each one's SaveOutcome (a seller profile: its seller id), in order."""
        now = now or utcnow()  # one moment per transaction
        with session_scope(self.sessions) as session:
            batch = _Batch()
            outcomes = [self.save_seller_profile_in(session, item, now, batch) if isinstance(item, SellerProfileItem)
                        else self.save_in(session, item, crawl_run_id, now, batch) for item in items]
            batch.write(session, self._prepared(session))
            return outcomes

    def save_in(self, session: Session, item: ListingItem, crawl_run_id: int | None,
                now: datetime | None = None, batch: _Batch | None = None) -> SaveOutcome:
        """Store one listing in the caller's transaction: the seller and the listing each one
        upsert, then a snapshot only when the content changed. With `batch`, the snapshot is
        written when the caller calls batch.write (before its commit); without, here."""
        now = now or utcnow()
        sql = self._prepared(session)
        pending = batch if batch is not None else _Batch()
        digest = content_hash(item)
        seller_id = None
        if item.seller_key:
            details = (item.seller_name, item.seller_url, item.seller_province, item.seller_city, now)
            known = pending.sellers.get((item.marketplace, item.seller_key))
            if known is not None and known[0] == details:
                seller_id = known[1]
            else:
                seller_id = sql.seller.one(session, {
                    "marketplace": item.marketplace, "seller_key": item.seller_key, "name": item.seller_name,
                    "shop_url": item.seller_url, "province": item.seller_province, "city": item.seller_city,
                    "first_seen_at": now, "last_seen_at": now})[0]
                pending.sellers[(item.marketplace, item.seller_key)] = (details, seller_id)
        listing_id, stored_hash, first_seen = sql.listing.one(session, {
            "marketplace": item.marketplace, "listing_key": item.listing_key, "url": item.url,
            "category": item.category, "seller_id": seller_id, "first_seen_at": now, "last_seen_at": now})
        earlier = pending.hashes.get(listing_id)  # this listing, already seen in this transaction
        new_snapshot = (earlier or stored_hash) != digest
        if new_snapshot:
            pending.rows.append({
                "listing_id": listing_id, "crawl_run_id": crawl_run_id, "observed_at": now, "title": item.title,
                "price": item.price, "currency": item.currency, "seller_name": item.seller_name,
                "brand": item.brand, "specs": item.specs, "raw": _jsonable(item.raw), "content_hash": digest})
            pending.hashes[listing_id] = digest
        if batch is None:
            pending.write(session, sql)
        # The row was created by this statement when its first sighting is this one (the driver's
        # value is compared with what it was given: SQLite keeps moments as text).
        new_listing = (earlier is None and stored_hash is None
                       and first_seen == sql.listing.bound("first_seen_at", now))
        return SaveOutcome(listing_id, new_listing, new_snapshot)

    def save_seller_profile(self, item: SellerProfileItem, now: datetime | None = None) -> int:
        """Record a shop page's details on its seller (created if no listing named it yet)."""
        with session_scope(self.sessions) as session:
            return self.save_seller_profile_in(session, item, now)

    def save_seller_profile_in(self, session: Session, item: SellerProfileItem, now: datetime | None = None,
                               batch: _Batch | None = None) -> int:
        now = now or utcnow()
        if batch is not None:  # the shop page changes the seller: a later listing upserts it again
            batch.sellers.pop((item.marketplace, item.seller_key), None)
        province, city = split_location(item.location)
        return self._prepared(session).profile.one(session, {
            "marketplace": item.marketplace, "seller_key": item.seller_key, "name": item.name,
            "shop_url": item.url, "province": province, "city": city, "phone": item.phone,
            "first_seen_at": now, "last_seen_at": now})[0]


def _jsonable(raw: dict) -> dict:
    return json.loads(json.dumps(raw, ensure_ascii=False, default=str))


__all__ = ["ListingStore", "SaveOutcome", "content_hash"]
