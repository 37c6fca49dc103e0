"""What to capture: a listing as the database knows it (the snapshot the matcher scored, the
suspect's signals), listings named by ID, URL or suspect, the suspects a capture policy
covers, and the latest capture of each listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from crawler.clock import utc
from crawler.evidence.errors import EvidenceError
from crawler.storage.models import (
    EvidenceCapture,
    Listing,
    ListingSnapshot,
    Seller,
    Suspect,
)


@dataclass
class Target:
    listing_id: int
    url: str
    seller_url: str | None
    suspect_id: int | None
    snapshot_id: int | None
    listing: dict[str, Any]
    signals: dict[str, Any] | None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc(value).isoformat(timespec="seconds")


def load_target(session: Session, listing_id: int) -> Target:
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise EvidenceError(f"no listing {listing_id}")
    suspect = session.scalar(select(Suspect).where(Suspect.listing_id == listing_id))
    snapshot = (session.get(ListingSnapshot, suspect.snapshot_id) if suspect else
                session.scalar(select(ListingSnapshot).where(ListingSnapshot.listing_id == listing_id)
                               .order_by(ListingSnapshot.id.desc()).limit(1)))
    seller = session.get(Seller, listing.seller_id) if listing.seller_id else None
    listing_json = {
        "listing_id": listing.id, "marketplace": listing.marketplace, "listing_key": listing.listing_key,
        "url": listing.url, "category": listing.category, "first_seen_at": _iso(listing.first_seen_at),
        "last_seen_at": _iso(listing.last_seen_at),
        "seller": ({"name": seller.name, "shop_url": seller.shop_url, "province": seller.province,
                    "city": seller.city, "phone": seller.phone, "seller_key": seller.seller_key} if seller else None),
        "snapshot": ({"id": snapshot.id, "observed_at": _iso(snapshot.observed_at), "title": snapshot.title,
                      "price": str(snapshot.price) if snapshot.price is not None else None,
                      "currency": snapshot.currency, "seller_name": snapshot.seller_name, "brand": snapshot.brand,
                      "specs": snapshot.specs, "raw": snapshot.raw, "content_hash": snapshot.content_hash}
                     if snapshot else None),
    }
    signals = None
    if suspect is not None:
        signals = {
            "suspect_id": suspect.id, "score": suspect.score, "brand": suspect.brand,
            "lookalike_of": suspect.lookalike_of, "status": suspect.status, "algorithm": suspect.algorithm,
            "watchlist_hash": suspect.watchlist_hash, "first_flagged_at": _iso(suspect.first_flagged_at),
            "last_flagged_at": _iso(suspect.last_flagged_at),
            "signals": [{"name": s.name, "weight": s.weight, "detail": s.detail, "listing_value": s.listing_value,
                         "watchlist_value": s.watchlist_value} for s in suspect.signals],
        }
    return Target(listing.id, listing.url, seller.shop_url if seller and seller.shop_url else None,
                  suspect.id if suspect else None, snapshot.id if snapshot else None, listing_json, signals)


def find_listing(session: Session, ref: str) -> int:
    """A listing by ID, by URL, or `suspect:ID`."""
    ref = ref.strip()
    if ref.startswith("suspect:") and ref[8:].isdigit():
        suspect = session.get(Suspect, int(ref[8:]))
        if suspect is None:
            raise EvidenceError(f"no suspect {ref[8:]}")
        return suspect.listing_id
    if ref.isdigit():
        if session.get(Listing, int(ref)) is None:
            raise EvidenceError(f"no listing {ref}")
        return int(ref)
    found = session.scalar(select(Listing.id).where(Listing.url == ref).limit(1))
    if found is None:
        raise EvidenceError(f"no listing with URL {ref!r} (give a listing ID, its URL, or suspect:ID)")
    return found


# -- the browser ----------------------------------------------------------------------------------
def listings_to_capture(session: Session, policy: str, listing_ids: Iterable[int] | Select | None = None,
                        limit: int | None = None) -> list[int]:
    """Suspects the policy asks to capture that have no successful capture of their current
    snapshot yet (so a re-run captures nothing twice), highest score first. `listing_ids` (a
    list or a SELECT of listing IDs) narrows it, e.g. to one crawl run's listings."""
    if policy in ("none", "on_demand"):
        return []
    minimum = float(policy.split(">=", 1)[1]) if policy.startswith("score>=") else 0.0
    captured = select(EvidenceCapture.snapshot_id).where(EvidenceCapture.status == "ok",
                                                         EvidenceCapture.snapshot_id.is_not(None))
    query = (select(Suspect.listing_id).where(Suspect.score >= minimum, Suspect.snapshot_id.not_in(captured),
                                              Suspect.status.not_in(("false_positive", "closed")))
             .order_by(Suspect.score.desc(), Suspect.id))
    if listing_ids is not None:
        query = query.where(Suspect.listing_id.in_(listing_ids if isinstance(listing_ids, Select)
                                                   else list(listing_ids)))
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def latest_captures(session: Session, listing_ids: Iterable[int]) -> dict[int, EvidenceCapture]:
    """The newest successful capture of each listing."""
    found: dict[int, EvidenceCapture] = {}
    ids = list(listing_ids)
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(EvidenceCapture).where(
                EvidenceCapture.listing_id.in_(ids[start:start + 500]), EvidenceCapture.status == "ok")
                .order_by(EvidenceCapture.captured_at, EvidenceCapture.id)):
            found[row.listing_id] = row
    return found
