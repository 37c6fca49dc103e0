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
from crawler.storage.upsert import insert_ignore, upsert_returning

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
            return [self.save_seller_profile_in(session, item, now) if isinstance(item, SellerProfileItem)
                    else self.save_in(session, item, crawl_run_id, now) for item in items]

    def save_in(self, session: Session, item: ListingItem, crawl_run_id: int | None,
                now: datetime | None = None) -> SaveOutcome:
        """Store one listing in the caller's transaction: the seller and the listing each one
        upsert, then a snapshot only when the content changed (two to four statements)."""
        now = now or utcnow()
        digest = content_hash(item)
        seller_id = self._seller(session, item, now)
        listing_id, old_hash, first_seen = upsert_returning(
            session, Listing,
            {"marketplace": item.marketplace, "listing_key": item.listing_key, "url": item.url,
             "category": item.category, "seller_id": seller_id, "first_seen_at": now, "last_seen_at": now},
            ("marketplace", "listing_key"),
            lambda new: {"last_seen_at": new.last_seen_at, "url": new.url,
                         "seller_id": func.coalesce(new.seller_id, Listing.seller_id),
                         "category": func.coalesce(new.category, Listing.category)},
            (Listing.id, Listing.content_hash, Listing.first_seen_at))
        new_snapshot = old_hash != digest
        if new_snapshot:
            session.execute(insert(ListingSnapshot).values(
                listing_id=listing_id, crawl_run_id=crawl_run_id, observed_at=now,
                title=item.title, price=item.price, currency=item.currency,
                seller_name=item.seller_name, brand=item.brand, specs=item.specs,
                raw=_jsonable(item.raw), content_hash=digest))
            session.execute(update(Listing).where(Listing.id == listing_id).values(content_hash=digest))
        return SaveOutcome(listing_id, first_seen == now and old_hash is None, new_snapshot)

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
        return upsert_returning(
            session, Seller,
            {"marketplace": item.marketplace, "seller_key": item.seller_key, "name": item.seller_name,
             "shop_url": item.seller_url, "province": item.seller_province, "city": item.seller_city,
             "first_seen_at": now, "last_seen_at": now},
            ("marketplace", "seller_key"),
            lambda new: {"name": new.name, "shop_url": new.shop_url, "province": new.province, "city": new.city,
                         "last_seen_at": new.last_seen_at},
            (Seller.id,))[0]


def _jsonable(raw: dict) -> dict:
    return json.loads(json.dumps(raw, ensure_ascii=False, default=str))


__all__ = ["ListingStore", "SaveOutcome", "content_hash"]
