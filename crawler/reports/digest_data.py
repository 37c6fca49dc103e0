"""What the daily digest shows, read from the database without holding every suspect.

Counts and breakdowns are SQL aggregates; the suspect rows are streamed in score order, a
chunk at a time with the signals of that chunk, so a digest of a million-listing database
costs memory for one chunk, the breakdowns and the 500 rows the HTML shows — not for every
suspect. crawler/reports/digest.py writes the files.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import DateTime, func, or_, select, type_coerce
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
# The digest's table (CSV and workbook columns), in order.
TABLE_KEYS = ("id", "score", "title", "url", "marketplace", "category", "seller", "location", "price", "reference",
              "certificate", "brand", "lookalike_of", "reasons", "first_flagged", "evidence", "status", "note",
              "console")
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

    # Area, marketplace and region in one pass (a few thousand groups), summed here.
    places = grouped(Listing.category, Listing.marketplace, Seller.province, Seller.city)
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
        "by_area": counted((categories.get(slug or "", slug or ""), n) for slug, _, _, _, n in places),
        "by_marketplace": counted((market, n) for _, market, _, _, n in places),
        "by_region": counted((" ".join(x for x in (province, city) if x), n) for _, _, province, city, n in places),
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


_signal = SuspectSignal.__table__.c
SIGNALS_OF = (f"SELECT {_signal.suspect_id.name}, {_signal.name.name}, {_signal.detail.name}, "
              f"{_signal.watchlist_value.name}, {_signal.role.name} FROM {SuspectSignal.__tablename__} "
              f"WHERE {_signal.suspect_id.name} IN ({{ids}}) ORDER BY {_signal.suspect_id.name}, {_signal.id.name}")


def chunks(session: Session, where: tuple) -> Iterator[tuple[list, dict]]:
    """The query's rows for the suspects `where` selects, highest score first, CHUNK at a time
    with their signals ({suspect id: [(name, detail, watchlist value, role)]}); see RowMaker.
    Core queries (no ORM objects), read in a thread ahead of the caller."""
    # The moment as the driver's plain DateTime (naive UTC from SQLite, aware from PostgreSQL;
    # beijing() takes both): the UTC type's per-row conversion is not needed here.
    query = (_joined(Suspect.id, Suspect.score, Suspect.status, Suspect.note, Suspect.brand, Suspect.lookalike_of,
                     type_coerce(Suspect.first_flagged_at, DateTime(timezone=True)), Listing.url,
                     Listing.marketplace, Listing.category,
                     ListingSnapshot.title, ListingSnapshot.price, ListingSnapshot.currency,
                     ListingSnapshot.seller_name, ListingSnapshot.brand.label("shown_brand"),
                     Seller.name.label("seller"), Seller.province, Seller.city, Seller.phone)
             .where(*where).order_by(Suspect.score.desc(), Suspect.id))
    engine = session.get_bind()

    def read() -> Iterator[tuple[list, dict]]:  # in a thread, on its own connection
        with engine.connect() as connection:
            cursor = connection.connection.cursor()  # the driver's own, for the plain signal rows
            try:
                for chunk in connection.execute(query.execution_options(stream_results=True, yield_per=CHUNK)
                                                ).partitions(CHUNK):
                    signals: dict[int, list[tuple[str, str, str | None, str]]] = defaultdict(list)
                    # Text and integers only, so the driver's rows as they are (a third of the
                    # cost of result rows); the ids are integers from the database, inlined.
                    cursor.execute(SIGNALS_OF.format(ids=",".join(str(int(r[0])) for r in chunk)))
                    for suspect_id, name, detail, watchlist_value, role in cursor.fetchall():
                        signals[suspect_id].append((name, detail, watchlist_value, role))
                    yield chunk, signals
            finally:
                cursor.close()

    # The next chunks are read while this one is written: the database driver works without
    # the GIL, so reading overlaps building rows and files.
    return read_ahead(read())


class RowMaker:
    """Makes a digest row (a dict of plain values) from a query row and its signals (see
    `chunks`), or only its table values."""

    def __init__(self, categories: dict[str, str], lang: str, console_url: str | None):
        self.categories, self.lang, self.console_url = categories, lang, console_url
        self.labels = STATUS_ZH if lang == "zh" else STATUS_EN
        self.signal_labels = {name: label for name, (label, *_rest) in SIGNAL_LABELS.items()}

    def __call__(self, r, found) -> dict:
        return _row(r, found, self.categories, self.lang, self.labels, self.signal_labels, self.console_url)

    def table(self, r, found) -> list:
        """Only the TABLE_KEYS values (what the CSV and the workbook hold), in that order."""
        return _table(r, found, self.categories, self.lang, self.labels, self.signal_labels, self.console_url)[0]


def read_ahead(items: Iterator, depth: int = 2) -> Iterator:
    """`items`, produced in a thread up to `depth` ahead of the consumer. An error in the thread
    is raised here; a consumer that stops early stops the thread (and its generator's cleanup,
    such as closing a connection, runs there)."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            handoff.put((end, error))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        handoff.put((end, None))

    thread = threading.Thread(target=produce, name="digest-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def _table(r, found, categories: dict[str, str], lang: str, labels: dict, signal_labels: dict,
           console_url: str | None) -> tuple[list, list[str], list[str]]:
    """A suspect's TABLE_KEYS values (the digest's table: CSV, workbook), its reasons and the
    labels of its decisive signals."""
    (suspect_id, score, status, note, brand, lookalike_of, first_flagged_at, url, marketplace, category, title,
     price, currency, seller_name, shown_brand, seller, province, city, phone) = r
    # Decisive reasons first; context ones are marked as such (参考, for reference only).
    decisive, context, shown, certificates = [], [], [], []
    price_reference = None
    for name, detail, value, role in found:
        label = signal_labels.get(name, name)
        if role == "context":
            context.append(f"{CONTEXT_MARK[lang]}{label}：{detail}")
        else:
            decisive.append(f"{label}：{detail}")
            shown.append(label)
        if price_reference is None and name.startswith("price"):
            price_reference = value
        if name.startswith("cert"):
            certificates.append(detail)
    reasons = decisive + context if context else decisive
    category = category or ""
    values = [
        suspect_id, round(score, 2), title, web_url(url), marketplace, categories.get(category, category),
        (seller or seller_name) or "", f"{province} {city}" if province and city else (province or city or ""),
        (f"{price} {currency}" if currency else str(price)) if price is not None else "", price_reference or "",
        "；".join(certificates), brand or shown_brand or "", lookalike_of or "", "；".join(reasons),
        beijing(first_flagged_at).strftime("%Y-%m-%d %H:%M"), "", labels.get(status, status), note or "",
        f"{console_url}/suspects/{suspect_id}" if console_url else "",
    ]
    return values, reasons, shown


def _row(r, found, categories: dict[str, str], lang: str, labels: dict, signal_labels: dict,
         console_url: str | None) -> dict:
    values, reasons, shown = _table(r, found, categories, lang, labels, signal_labels, console_url)
    row = dict(zip(TABLE_KEYS, values))
    province, city, price, currency, category, status = r[16], r[17], r[11], r[12], r[9], r[2]
    row.update({"category_slug": category or "", "province": province or "", "city": city or "",
                "phone": r[18] or "", "price_value": price, "currency": currency or "", "reason_list": reasons,
                "signals": shown, "first_flagged_at": beijing(r[6]), "evidence_href": "",  # evidence: by the writer
                "status_code": status})
    return row


__all__ = ["CHUNK", "TABLE_KEYS", "RowMaker", "Scope", "breakdowns", "chunks", "count", "latest_captures",
           "read_ahead", "scope", "trends", "web_url"]
