"""Writing observed listings: sellers and listings upserted, a snapshot only when content changed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import ListingItem, SellerProfileItem
from crawler.normalise import split_location
from crawler.storage.db import session_scope
from crawler.storage.models import Listing, ListingSnapshot, Seller, utcnow
from crawler.storage.upsert import insert_ignore, upsert_many_returning, upsert_returning

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


class ListingStore:
    """Idempotent writes of `ListingItem`s; each save is one transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, item: ListingItem, crawl_run_id: int | None, now: datetime | None = None) -> SaveOutcome:
        with session_scope(self.sessions) as session:
            return self.save_in(session, item, crawl_run_id, now)

    def save_many(self, items: list[ListingItem | SellerProfileItem], crawl_run_id: int | None,
                  now: datetime | None = None) -> list[SaveOutcome | int]:
        """Several listings (and seller profiles) in one transaction: all are stored or none is.
        Returns each one's SaveOutcome (a seller profile: its seller id), in order."""
        with session_scope(self.sessions) as session:
            outcomes: list[SaveOutcome | int] = []
            run: list[ListingItem | SellerProfileItem] = []
            named: set[tuple[str, str | None]] = set()  # the sellers the run's listings name
            for item in items:
                if isinstance(item, SellerProfileItem) and (item.marketplace, item.seller_key) in named:
                    # A shop page after a listing of its seller: that listing is stored first.
                    outcomes.extend(self.save_all_in(session, run, crawl_run_id, now))
                    run, named = [], set()
                run.append(item)
                if isinstance(item, ListingItem):
                    named.add((item.marketplace, item.seller_key))
            outcomes.extend(self.save_all_in(session, run, crawl_run_id, now))
            return outcomes

    def save_all_in(self, session: Session, items: list[ListingItem | SellerProfileItem], crawl_run_id: int | None,
                    now: datetime | None = None) -> list[SaveOutcome | int]:
        """Listings (and shop pages, none after a listing of its seller) in the caller's
        transaction, with the same rows as saving them one by one, in few statements: the
        sellers in the order the items first name them — a multi-row upsert between shop pages,
        each shop page in its place — then one upsert of all the listings, their new snapshots
        and their new content hashes. Rows are locked in the items' order, so writers given
        items in one order (the store pipeline's _lock_order) never deadlock. A batch naming
        one listing twice is stored one by one (the second save must see the first)."""
        listings = [item for item in items if isinstance(item, ListingItem)]
        keys = [(item.marketplace, item.listing_key) for item in listings]
        if len(listings) < 2 or len(set(keys)) < len(keys):
            return [self.save_seller_profile_in(session, item, now) if isinstance(item, SellerProfileItem)
                    else self.save_in(session, item, crawl_run_id, now) for item in items]
        now = now or utcnow()
        seller_ids: dict[tuple[str, str], int] = {}
        profiles: dict[int, int] = {}  # a shop page's place in `items`: its seller id
        waiting: dict[tuple[str, str], dict] = {}  # a seller named twice ends as its later listing shows it

        def upsert_waiting() -> None:
            if waiting:
                seller_ids.update({(market, key): seller_id for market, key, seller_id in upsert_many_returning(
                    session, Seller, list(waiting.values()), ("marketplace", "seller_key"), self._seller_update,
                    (Seller.marketplace, Seller.seller_key, Seller.id))})
                waiting.clear()

        for place, item in enumerate(items):
            if isinstance(item, SellerProfileItem):
                upsert_waiting()
                profiles[place] = seller_ids[(item.marketplace, item.seller_key)] = self.save_seller_profile_in(
                    session, item, now)
            elif item.seller_key:
                waiting[(item.marketplace, item.seller_key)] = self._seller_row(item, now)
        upsert_waiting()
        found = {(market, key): rest for market, key, *rest in upsert_many_returning(
            session, Listing,
            [self._listing_row(item, seller_ids.get((item.marketplace, item.seller_key)), now) for item in listings],
            ("marketplace", "listing_key"), self._listing_update,
            (Listing.marketplace, Listing.listing_key, Listing.id, Listing.content_hash, Listing.first_seen_at))}
        outcomes: list[SaveOutcome] = []
        snapshots, hashes = [], []
        for item, key in zip(listings, keys):
            listing_id, old_hash, first_seen = found[key]
            digest = content_hash(item)
            new_snapshot = old_hash != digest
            if new_snapshot:
                snapshots.append(self._snapshot_row(item, listing_id, crawl_run_id, now, digest))
                hashes.append({"id": listing_id, "content_hash": digest})
            outcomes.append(SaveOutcome(listing_id, first_seen == now and old_hash is None, new_snapshot))
        if snapshots:
            session.execute(insert(ListingSnapshot), snapshots)
            session.execute(update(Listing), hashes)  # by primary key, one executemany
        in_order = iter(outcomes)
        return [profiles[place] if place in profiles else next(in_order) for place in range(len(items))]

    def save_in(self, session: Session, item: ListingItem, crawl_run_id: int | None,
                now: datetime | None = None) -> SaveOutcome:
        """Store one listing in the caller's transaction: the seller and the listing each one
        upsert, then a snapshot only when the content changed (two to four statements)."""
        now = now or utcnow()
        digest = content_hash(item)
        seller_id = self._seller(session, item, now)
        listing_id, old_hash, first_seen = upsert_returning(
            session, Listing, self._listing_row(item, seller_id, now), ("marketplace", "listing_key"),
            self._listing_update, (Listing.id, Listing.content_hash, Listing.first_seen_at))
        new_snapshot = old_hash != digest
        if new_snapshot:
            session.execute(insert(ListingSnapshot).values(
                **self._snapshot_row(item, listing_id, crawl_run_id, now, digest)))
            session.execute(update(Listing).where(Listing.id == listing_id).values(content_hash=digest))
        return SaveOutcome(listing_id, first_seen == now and old_hash is None, new_snapshot)

    # The rows and SET clauses save_in and save_all_in share.
    @staticmethod
    def _listing_row(item: ListingItem, seller_id: int | None, now: datetime) -> dict:
        return {"marketplace": item.marketplace, "listing_key": item.listing_key, "url": item.url,
                "category": item.category, "seller_id": seller_id, "first_seen_at": now, "last_seen_at": now}

    @staticmethod
    def _listing_update(new) -> dict:
        return {"last_seen_at": new.last_seen_at, "url": new.url,
                "seller_id": func.coalesce(new.seller_id, Listing.seller_id),
                "category": func.coalesce(new.category, Listing.category)}

    @staticmethod
    def _snapshot_row(item: ListingItem, listing_id: int, crawl_run_id: int | None, now: datetime,
                      digest: str) -> dict:
        return {"listing_id": listing_id, "crawl_run_id": crawl_run_id, "observed_at": now, "title": item.title,
                "price": item.price, "currency": item.currency, "seller_name": item.seller_name,
                "brand": item.brand, "specs": item.specs, "raw": _jsonable(item.raw), "content_hash": digest}

    @staticmethod
    def _seller_row(item: ListingItem, now: datetime) -> dict:
        return {"marketplace": item.marketplace, "seller_key": item.seller_key, "name": item.seller_name,
                "shop_url": item.seller_url, "province": item.seller_province, "city": item.seller_city,
                "first_seen_at": now, "last_seen_at": now}

    @staticmethod
    def _seller_update(new) -> dict:
        return {"name": new.name, "shop_url": new.shop_url, "province": new.province, "city": new.city,
                "last_seen_at": new.last_seen_at}

    def save_seller_profile(self, item: SellerProfileItem, now: datetime | None = None) -> int:
        """Record a shop page's details on its seller (created if no listing named it yet)."""
        with session_scope(self.sessions) as session:
            return self.save_seller_profile_in(session, item, now)

    def save_seller_profile_in(self, session: Session, item: SellerProfileItem, now: datetime | None = None) -> int:
        now = now or utcnow()
        province, city = split_location(item.location)
        seller_id, _ = insert_ignore(
            session, Seller,
            {"marketplace": item.marketplace, "seller_key": item.seller_key, "name": item.name,
             "shop_url": item.url, "province": province, "city": city, "first_seen_at": now, "last_seen_at": now},
            ("marketplace", "seller_key"),
        )
        values = {"phone": item.phone, "last_seen_at": now}
        values.update({k: v for k, v in (("name", item.name), ("province", province), ("city", city)) if v})
        session.execute(update(Seller).where(Seller.id == seller_id).values(**values))
        return seller_id

    @staticmethod
    def _seller(session: Session, item: ListingItem, now: datetime) -> int | None:
        if not item.seller_key:
            return None
        return upsert_returning(session, Seller, ListingStore._seller_row(item, now), ("marketplace", "seller_key"),
                                ListingStore._seller_update, (Seller.id,))[0]


def _jsonable(raw: dict) -> dict:
    return json.loads(json.dumps(raw, ensure_ascii=False, default=str))


__all__ = ["ListingStore", "SaveOutcome", "content_hash"]
