"""What the daily digest shows, read from the database without holding every suspect.

Counts and breakdowns are SQL aggregates; the suspect rows are streamed in score order, a
chunk at a time with the signals of that chunk, so a digest of a million-listing database
costs memory for one chunk, the breakdowns and the 500 rows the HTML shows — not for every
suspect. crawler/reports/digest.py writes the files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crawler.app.triage import OPEN_STATUSES, STATUS_EN, STATUS_ZH
from crawler.clock import BEIJING, beijing
from crawler.storage.models import (
    Campaign,
    CrawlRun,
    EvidenceCapture,
    Listing,
    ListingSnapshot,
    Seller,
    Suspect,
    SuspectSignal,
)
from matchers.base import SIGNAL_LABELS

CHUNK = 1000  # suspects read (with their signals) at a time
CONTEXT_MARK = {"zh": "（参考）", "en": "(context) "}
NONE = {"zh": "无", "en": "none"}


def web_url(url: str) -> str:
    """The URL if it is http(s); anything else (javascript:, data:) is not linked."""
    return url if url.lower().startswith(("http://", "https://")) else ""


def _campaign_listing_ids(session: Session, campaign: str) -> set[int]:
    return set(session.scalars(_campaign_listings(session, campaign)))


def _campaign_listings(session: Session, campaign: str):
    """A subquery of the listings a campaign's runs observed; ValueError for an unknown campaign."""
    row = session.scalar(select(Campaign).where(Campaign.name == campaign))
    if row is None:
        raise ValueError(f"no campaign {campaign!r}")
    run_ids = select(CrawlRun.id).where(CrawlRun.campaign_id == row.id)
    return select(ListingSnapshot.listing_id).where(ListingSnapshot.crawl_run_id.in_(run_ids))


@dataclass(frozen=True)
class Scope:
    """Which suspects a digest covers (all, or a campaign's) and which of them are new."""

    where: tuple
    since: datetime | None  # the previous digest of the same scope: suspects flagged after it are new

    @property
    def new(self) -> tuple:
        return (*self.where, Suspect.first_flagged_at > self.since) if self.since else self.where

    @property
    def still_open(self) -> tuple:
        if self.since is None:
            return (*self.where, Suspect.id.is_(None))  # every suspect is new
        return (*self.where, Suspect.first_flagged_at <= self.since, Suspect.status.in_(OPEN_STATUSES))


def scope(session: Session, campaign: str | None, since: datetime | None) -> Scope:
    where = (Suspect.listing_id.in_(_campaign_listings(session, campaign)),) if campaign else ()
    return Scope(where, since)


def _joined(*columns):
    return (select(*columns).select_from(Suspect)
            .join(Listing, Listing.id == Suspect.listing_id)
            .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id))


def count(session: Session, where: tuple) -> int:
    return session.scalar(_joined(func.count()).where(*where)) or 0


def _seller_name():
    return func.coalesce(Seller.name, ListingSnapshot.seller_name, "")


def breakdowns(session: Session, where: tuple, categories: dict[str, str], lang: str) -> dict[str, list[tuple]]:
    """Counts by area, marketplace, region, imitated brand and signal; the top sellers; seller
    networks (one phone, several shops): each one aggregate query."""
    none = NONE[lang]

    def grouped(*keys, limit: int | None = None) -> list[tuple]:
        query = _joined(*keys, func.count()).where(*where).group_by(*keys).order_by(func.count().desc(), *keys)
        return session.execute(query.limit(limit) if limit else query).all()

    def counted(pairs, limit: int | None = None) -> list[tuple[str, int]]:
        counter: Counter = Counter()
        for key, number in pairs:
            counter[key or none] += number
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    brand = func.coalesce(func.nullif(Suspect.lookalike_of, ""), func.nullif(Suspect.brand, ""),
                          func.nullif(ListingSnapshot.brand, ""))
    labels = {name: label for name, (label, *_rest) in SIGNAL_LABELS.items()}
    signal_counts = session.execute(
        select(SuspectSignal.name, func.count()).join(Suspect, Suspect.id == SuspectSignal.suspect_id)
        .join(Listing, Listing.id == Suspect.listing_id)
        .where(*where, or_(SuspectSignal.role.is_(None), SuspectSignal.role != "context"))
        .group_by(SuspectSignal.name)).all()
    seller = _seller_name()
    top = session.execute(
        _joined(seller, Listing.marketplace, func.count(), func.max(Suspect.score)).where(*where)
        .group_by(seller, Listing.marketplace)
        .order_by(func.count().desc(), func.max(Suspect.score).desc(), seller).limit(20)).all()
    phones: dict[str, set[str]] = defaultdict(set)
    for phone, name, market in session.execute(
            _joined(Seller.phone, seller, Listing.marketplace).where(*where, Seller.phone.is_not(None), Seller.phone != "")
            .distinct()):
        phones[phone].add(f"{name}（{market}）")
    return {
        "by_area": counted((categories.get(slug or "", slug or ""), n) for slug, n in grouped(Listing.category)),
        "by_marketplace": counted(grouped(Listing.marketplace)),
        "by_region": counted((" ".join(x for x in (province, city) if x), n)
                             for province, city, n in grouped(Seller.province, Seller.city)),
        "by_brand": counted(grouped(brand), 30),
        "by_signal": counted((labels.get(name, name), n) for name, n in signal_counts),
        "top_sellers": [(f"{name}（{market}）", n, round(best, 2)) for name, market, n, best in top],
        "networks": sorted(((phone, len(shops), "、".join(sorted(shops))) for phone, shops in phones.items()
                            if len(shops) > 1), key=lambda item: (-item[1], item[0])),
    }


def _week_bounds(day: date, weeks_back: int = 0, years_back: int = 0) -> tuple[date, date]:
    """Monday-to-Monday of `day`'s week, `weeks_back` weeks or `years_back` years (52 weeks,
    so the same weekdays) earlier."""
    start = day - timedelta(days=day.weekday()) - timedelta(weeks=weeks_back + 52 * years_back)
    return start, start + timedelta(days=7)


def _moment(day: date) -> datetime:
    """Midnight Beijing time at the start of `day`, as an aware datetime."""
    return datetime.combine(day, time(), tzinfo=BEIJING)


def trends(session: Session, where: tuple, categories: dict[str, str], day: date) -> dict[str, object]:
    """Suspects per day by area (30 days to `day`), and week counts for comparison."""
    first = day - timedelta(days=29)
    per_day: dict[str, Counter] = defaultdict(Counter)
    for slug, flagged in session.execute(
            _joined(Listing.category, Suspect.first_flagged_at)
            .where(*where, Suspect.first_flagged_at >= _moment(first), Suspect.first_flagged_at < _moment(day + timedelta(1)))):
        per_day[categories.get(slug or "", slug or "")][beijing(flagged).date()] += 1
    periods = {}
    for key, (weeks_back, years_back) in (("this_week", (0, 0)), ("last_week", (1, 0)), ("last_year", (0, 1))):
        start, end = _week_bounds(day, weeks_back, years_back)
        periods[key] = count(session, (*where, Suspect.first_flagged_at >= _moment(start),
                                       Suspect.first_flagged_at < _moment(end)))
    return {"days": [first + timedelta(days=i) for i in range(30)], "per_day": per_day, "periods": periods}


def latest_captures(session: Session) -> dict[int, tuple[int, datetime, dict]]:
    """Each suspect's latest successful evidence capture: (capture id, when, files)."""
    latest = {}
    for capture_id, suspect_id, captured_at, files in session.execute(
            select(EvidenceCapture.id, EvidenceCapture.suspect_id, EvidenceCapture.captured_at, EvidenceCapture.files)
            .where(EvidenceCapture.status == "ok", EvidenceCapture.suspect_id.is_not(None))
            .order_by(EvidenceCapture.captured_at, EvidenceCapture.id)):
        latest[suspect_id] = (capture_id, captured_at, files)
    return latest


def rows(session: Session, where: tuple, categories: dict[str, str], lang: str = "zh",
         console_url: str | None = None) -> Iterator[dict]:
    """The suspects `where` selects, highest score first, as plain values (text is escaped by the
    renderer), streamed: CHUNK rows at a time, each chunk's signals read with it."""
    query = (_joined(Suspect.id, Suspect.score, Suspect.status, Suspect.note, Suspect.brand, Suspect.lookalike_of,
                     Suspect.first_flagged_at, Listing.url, Listing.marketplace, Listing.category,
                     ListingSnapshot.title, ListingSnapshot.price, ListingSnapshot.currency,
                     ListingSnapshot.seller_name, ListingSnapshot.brand.label("shown_brand"),
                     Seller.name.label("seller"), Seller.province, Seller.city, Seller.phone)
             .where(*where).order_by(Suspect.score.desc(), Suspect.id))
    labels = STATUS_ZH if lang == "zh" else STATUS_EN
    signal_labels = {name: label for name, (label, *_rest) in SIGNAL_LABELS.items()}
    for chunk in session.execute(query.execution_options(yield_per=CHUNK)).partitions(CHUNK):
        signals: dict[int, list[tuple[str, str, str | None, str]]] = defaultdict(list)
        for suspect_id, name, detail, watchlist_value, role in session.execute(
                select(SuspectSignal.suspect_id, SuspectSignal.name, SuspectSignal.detail,
                       SuspectSignal.watchlist_value, SuspectSignal.role)
                .where(SuspectSignal.suspect_id.in_([r.id for r in chunk]))
                .order_by(SuspectSignal.suspect_id, SuspectSignal.id)):
            signals[suspect_id].append((name, detail, watchlist_value, role))
        for r in chunk:
            yield _row(r, signals.get(r.id, ()), categories, lang, labels, signal_labels, console_url)


def _row(r, found, categories: dict[str, str], lang: str, labels: dict, signal_labels: dict,
         console_url: str | None) -> dict:
    # Decisive reasons first; context ones are marked as such (参考, for reference only).
    reasons = ([f"{signal_labels.get(name, name)}：{detail}" for name, detail, _, role in found if role != "context"]
               + [f"{CONTEXT_MARK[lang]}{signal_labels.get(name, name)}：{detail}"
                  for name, detail, _, role in found if role == "context"])
    price_reference = next((value for name, _, value, _ in found if name.startswith("price")), None)
    flagged = beijing(r.first_flagged_at)
    return {
        "id": r.id, "score": round(r.score, 2), "title": r.title, "url": web_url(r.url),
        "marketplace": r.marketplace, "category": categories.get(r.category or "", r.category or ""),
        "category_slug": r.category or "", "seller": (r.seller or r.seller_name) or "",
        "province": r.province or "", "city": r.city or "",
        "location": " ".join(x for x in (r.province, r.city) if x), "phone": r.phone or "",
        "price": f"{r.price} {r.currency or ''}".strip() if r.price is not None else "",
        "price_value": r.price, "currency": r.currency or "",
        "reference": price_reference or "",
        "certificate": "；".join(detail for name, detail, _, _ in found if name.startswith("cert")),
        "brand": r.brand or r.shown_brand or "", "lookalike_of": r.lookalike_of or "",
        "reasons": "；".join(reasons), "reason_list": reasons,
        "signals": [signal_labels.get(name, name) for name, _, _, role in found if role != "context"],
        "first_flagged_at": flagged, "first_flagged": flagged.strftime("%Y-%m-%d %H:%M"),
        "evidence": "", "evidence_href": "",  # filled from the captures by the writer
        "status_code": r.status, "status": labels.get(r.status, r.status), "note": r.note or "",
        "console": f"{console_url}/suspects/{r.id}" if console_url else "",
    }


__all__ = ["CHUNK", "Scope", "breakdowns", "count", "latest_captures", "rows", "scope", "trends", "web_url"]
