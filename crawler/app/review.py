"""The analysts' review: the suspect queue (filters, counts per filter, sort, pages) and one
suspect with everything needed to decide it — the listing as captured, its history, every
signal with the watchlist entry it matched, the seller's other listings and network, the
evidence, the decisions so far. The console shows these; nothing here knows HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.app.triage import STATUSES, SuspectEventView
from crawler.clock import BEIJING
from crawler.storage.models import (
    Campaign,
    CrawlRun,
    EvidenceCapture,
    Listing,
    ListingSnapshot,
    SamplingOrder,
    Seller,
    Suspect,
    SuspectEvent,
    SuspectSignal,
)
from watchlists import Watchlists

SORTS = {"score": "风险分", "newest": "最新", "price_low": "价格从低", "price_high": "价格从高"}
PER_PAGE = 50
FACETS = ("status", "area", "marketplace", "region", "signal")


@dataclass(frozen=True)
class QueueFilter:
    """What the analyst asked for; every field optional."""

    date_from: date | None = None  # first flagged on or after (Beijing)
    date_to: date | None = None  # first flagged on or before (Beijing)
    statuses: tuple[str, ...] = ()
    area: str | None = None
    marketplace: str | None = None
    region: str | None = None  # seller's province or city
    brand: str | None = None  # the brand or the imitated brand contains this
    signal: str | None = None
    min_score: float | None = None
    campaign: str | None = None
    ids: tuple[int, ...] = ()
    sort: str = "score"
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class QueueItem:
    id: int
    version: int
    score: float
    status: str
    status_by: str | None
    status_at: datetime | None
    note: str | None
    first_flagged_at: datetime
    brand: str | None
    lookalike_of: str | None
    title: str
    price: Decimal | None
    currency: str | None
    url: str
    marketplace: str
    category: str | None
    seller: str | None
    region: str | None
    signals: tuple[str, ...]


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _utc_bounds(day: date, end: bool) -> datetime:
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=BEIJING)
    return moment


def _filtered(query: Select, f: QueueFilter, skip: str | None = None) -> Select:
    """`query` (over Suspect joined with Listing and outer-joined with Seller) narrowed by every
    filter but `skip` (a facet counts with the other filters applied)."""
    if f.date_from:
        query = query.where(Suspect.first_flagged_at >= _utc_bounds(f.date_from, end=False))
    if f.date_to:
        query = query.where(Suspect.first_flagged_at < _utc_bounds(f.date_to, end=True))
    if f.statuses and skip != "status":
        query = query.where(Suspect.status.in_(f.statuses))
    if f.area and skip != "area":
        query = query.where(Listing.category == f.area)
    if f.marketplace and skip != "marketplace":
        query = query.where(Listing.marketplace == f.marketplace)
    if f.region and skip != "region":
        query = query.where(or_(Seller.province == f.region, Seller.city == f.region))
    if f.brand:
        pattern = f"%{f.brand.strip().lower()}%"
        query = query.where(or_(func.lower(Suspect.brand).like(pattern), func.lower(Suspect.lookalike_of).like(pattern)))
    if f.signal and skip != "signal":
        query = query.where(select(SuspectSignal.id).where(SuspectSignal.suspect_id == Suspect.id,
                                                            SuspectSignal.name == f.signal).exists())
    if f.min_score is not None:
        query = query.where(Suspect.score >= f.min_score)
    if f.campaign:
        crawled = (select(ListingSnapshot.listing_id).join(CrawlRun, CrawlRun.id == ListingSnapshot.crawl_run_id)
                   .join(Campaign, Campaign.id == CrawlRun.campaign_id).where(Campaign.name == f.campaign))
        query = query.where(Suspect.listing_id.in_(crawled))
    if f.ids:
        query = query.where(Suspect.id.in_(f.ids))
    return query


def _base(*columns) -> Select:
    return (select(*columns).select_from(Suspect).join(Listing, Listing.id == Suspect.listing_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id))


def queue(sessions: sessionmaker[Session], f: QueueFilter) -> QueuePage:
    order = {"score": (Suspect.score.desc(), Suspect.id),
             "newest": (Suspect.first_flagged_at.desc(), Suspect.id.desc()),
             "price_low": (ListingSnapshot.price.is_(None), ListingSnapshot.price, Suspect.id),
             "price_high": (ListingSnapshot.price.is_(None), ListingSnapshot.price.desc(), Suspect.id)}[
        f.sort if f.sort in SORTS else "score"]
    per_page = max(1, min(f.per_page, 500))
    with sessions() as session:
        total = session.scalar(_filtered(_base(func.count(Suspect.id)), f)) or 0
        pages = max(1, -(-total // per_page))
        page = max(1, min(f.page, pages))
        rows = session.execute(
            _filtered(_base(Suspect, Listing, ListingSnapshot, Seller)
                      .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id), f)
            .order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
        ids = [suspect.id for suspect, *_ in rows]
        names: dict[int, list[str]] = {}
        for suspect_id, name in session.execute(select(SuspectSignal.suspect_id, SuspectSignal.name)
                                                .where(SuspectSignal.suspect_id.in_(ids))
                                                .order_by(SuspectSignal.weight.desc())):
            names.setdefault(suspect_id, []).append(name)
        items = [QueueItem(
            id=s.id, version=s.version, score=s.score, status=s.status, status_by=s.status_by, status_at=s.status_at,
            note=s.note, first_flagged_at=s.first_flagged_at, brand=s.brand, lookalike_of=s.lookalike_of,
            title=snap.title, price=snap.price, currency=snap.currency, url=listing.url,
            marketplace=listing.marketplace, category=listing.category,
            seller=(seller.name if seller else None) or snap.seller_name,
            region=" ".join(x for x in ((seller.province, seller.city) if seller else ()) if x) or None,
            signals=tuple(dict.fromkeys(names.get(s.id, ()))))
            for s, listing, snap, seller in rows]
        facets = {
            "status": _facet(session, f, "status", Suspect.status),
            "area": _facet(session, f, "area", Listing.category),
            "marketplace": _facet(session, f, "marketplace", Listing.marketplace),
            "region": _facet(session, f, "region", Seller.province),
            "signal": [(name, count) for name, count in session.execute(
                _filtered(select(SuspectSignal.name, func.count(func.distinct(SuspectSignal.suspect_id)))
                          .select_from(Suspect).join(Listing, Listing.id == Suspect.listing_id)
                          .outerjoin(Seller, Seller.id == Listing.seller_id)
                          .join(SuspectSignal, SuspectSignal.suspect_id == Suspect.id), f, skip="signal")
                .group_by(SuspectSignal.name).order_by(func.count(func.distinct(SuspectSignal.suspect_id)).desc()))],
        }
    facets["status"].sort(key=lambda pair: STATUSES.index(pair[0]) if pair[0] in STATUSES else 99)
    return QueuePage(items, total, page, pages, facets)


def _facet(session: Session, f: QueueFilter, name: str, column) -> list[tuple[str, int]]:
    query = _filtered(_base(column, func.count(Suspect.id)), f, skip=name).group_by(column)
    return sorted(((value, count) for value, count in session.execute(query) if value is not None),
                  key=lambda pair: -pair[1])


# -- one suspect ---------------------------------------------------------------------------------
@dataclass
class WatchlistEntry:
    """The genuine brand a signal points at, as the watchlist has it."""

    name: str
    names: list[str]
    owner: str | None
    official_shops: list[str]
    reference_prices: list[tuple[str, str, Decimal | None, str]]  # (model, name, price, unit)


@dataclass
class SuspectDetail:
    suspect: Suspect
    listing: Listing
    snapshot: ListingSnapshot  # the one flagged
    seller: Seller | None
    history: list[ListingSnapshot]  # every snapshot, oldest first
    signals: list[SuspectSignal]
    entries: dict[str, WatchlistEntry]  # brand name -> the watchlist's entry
    other_listings: list[tuple[Listing, ListingSnapshot | None, Suspect | None]]
    network: list[Seller]  # other shops with the seller's phone
    captures: list[EvidenceCapture]
    events: list[SuspectEventView]
    orders: list[SamplingOrder]
    raw: dict[str, Any] = field(default_factory=dict)


def entry_of(lists: Watchlists, name: str | None) -> WatchlistEntry | None:
    brand = lists.find_brand(name) if name else None
    if brand is None:
        return None
    return WatchlistEntry(brand.name, brand.all_names(), brand.owner,
                          [shop.name + (f"（{shop.marketplace}）" if shop.marketplace else "") for shop in brand.official_shops],
                          [(p.model, p.name, p.reference_price, p.unit) for p in brand.products][:20])


def suspect_detail(sessions: sessionmaker[Session], lists: Watchlists, suspect_id: int,
                   others: int = 20) -> SuspectDetail | None:
    with sessions() as session:
        suspect = session.get(Suspect, suspect_id)
        if suspect is None:
            return None
        listing, snapshot = suspect.listing, suspect.snapshot
        seller = listing.seller
        history = list(session.scalars(select(ListingSnapshot).where(ListingSnapshot.listing_id == listing.id)
                                       .order_by(ListingSnapshot.observed_at, ListingSnapshot.id)))
        signals = list(suspect.signals)
        other_listings: list[tuple[Listing, ListingSnapshot | None, Suspect | None]] = []
        network: list[Seller] = []
        if seller is not None:
            for other in session.scalars(select(Listing).where(Listing.seller_id == seller.id, Listing.id != listing.id)
                                         .order_by(Listing.last_seen_at.desc()).limit(others)):
                latest = session.scalar(select(ListingSnapshot).where(ListingSnapshot.listing_id == other.id)
                                        .order_by(ListingSnapshot.id.desc()).limit(1))
                flagged = session.scalar(select(Suspect).where(Suspect.listing_id == other.id))
                other_listings.append((other, latest, flagged))
            if seller.phone:
                network = list(session.scalars(select(Seller).where(Seller.phone == seller.phone, Seller.id != seller.id)
                                               .order_by(Seller.id).limit(50)))
        captures = list(session.scalars(select(EvidenceCapture).where(EvidenceCapture.listing_id == listing.id)
                                        .order_by(EvidenceCapture.captured_at.desc(), EvidenceCapture.id.desc())))
        events = [SuspectEventView(e.at, e.by, e.from_status, e.to_status, e.note, e.source)
                  for e in session.scalars(select(SuspectEvent).where(SuspectEvent.suspect_id == suspect.id)
                                           .order_by(SuspectEvent.at, SuspectEvent.id))]
        orders = list(session.scalars(select(SamplingOrder).where(SamplingOrder.suspect_id == suspect.id)
                                      .order_by(SamplingOrder.id)))
        session.expunge_all()
    entries = {}
    for name in dict.fromkeys(filter(None, [suspect.lookalike_of, suspect.brand,
                                            *(s.watchlist_value for s in signals)])):
        entry = entry_of(lists, name)
        if entry is not None:
            entries[entry.name] = entry
    return SuspectDetail(suspect, listing, snapshot, seller, history, signals, entries, other_listings, network,
                         captures, events, orders, snapshot.raw or {})


def screenshot_of(detail: SuspectDetail) -> tuple[EvidenceCapture, dict] | None:
    """The newest successful capture with a screenshot, and that file's entry."""
    for capture in detail.captures:
        info = (capture.files or {}).get("screenshot.png")
        if capture.status == "ok" and info:
            return capture, info
    return None


def capture_by_id(sessions: sessionmaker[Session], capture_id: int) -> EvidenceCapture | None:
    with sessions() as session:
        capture = session.get(EvidenceCapture, capture_id)
        if capture is not None:
            session.expunge(capture)
        return capture


def versions(sessions: sessionmaker[Session], ids: list[int]) -> dict[int, int]:
    with sessions() as session:
        return dict(session.execute(select(Suspect.id, Suspect.version).where(Suspect.id.in_(ids))).all())


__all__ = ["FACETS", "PER_PAGE", "SORTS", "QueueFilter", "QueueItem", "QueuePage", "SuspectDetail", "WatchlistEntry",
           "capture_by_id", "entry_of", "queue", "screenshot_of", "suspect_detail", "versions"]
