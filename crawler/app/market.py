"""What the market looks like, kept up to date one new snapshot at a time.

Two matcher inputs are figures over every listing's newest snapshot: price cohorts (median and
MAD of comparable prices per brand, category and product noun) and how usually each
marketplace's listings show the certificates their categories require. Building them from
every listing on each match run costs the whole table per run. Instead the database keeps:

- `market_observations`: one row per listing, what its newest snapshot contributes (cohort,
  price bin, certificates shown);
- `price_cohort_bins`: per cohort, how many listings cost about each price (log-scale bins
  1% apart, `matchers.prices.price_bin`), so a cohort's median and MAD come from about a
  hundred bins however many listings it holds;
- `certificate_display`: per marketplace, listings needing a certificate and those showing it.

A match run folds in only the snapshots not yet scored (replacing their listings' previous
contribution) and reads the bins of the cohorts its snapshots fall in: its cost follows the
new snapshots, not the table. The figures are rebuilt from every listing only when the
taxonomy they depend on (category keywords, price units, required certificates) changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Text, and_, bindparam, column, delete, select, text, values
from sqlalchemy.orm import Session, sessionmaker

from crawler.storage.db import session_scope
from crawler.storage.models import (
    CertificateDisplayCount,
    Listing,
    ListingSnapshot,
    MarketObservation,
    MarketState,
    PriceCohortBin,
    utcnow,
)
from crawler.storage.upsert import add_counts
from matchers import ListingView
from matchers.certs import CertificateDisplay, shows_required
from matchers.prices import PriceCohorts, cohort_key, comparable_price, price_bin
from watchlists import Watchlists

PAGE = 2000
MARKET_VERSION = 2  # raise when what an observation holds is computed differently
_LOCK_KEY = 0x4C494A4D  # PostgreSQL advisory lock: one process folds at a time

log = logging.getLogger(__name__)

Key = tuple[str, str, str]

# The snapshot columns an observation needs (not `raw`: it can be large).
_COLUMNS = (ListingSnapshot.id, ListingSnapshot.listing_id, ListingSnapshot.title, ListingSnapshot.brand,
            ListingSnapshot.price, ListingSnapshot.currency, ListingSnapshot.specs, Listing.category,
            Listing.marketplace)


def categories_hash(watchlists: Watchlists) -> str:
    taxonomy = {slug: [c.keywords, c.price_unit, sorted(c.requires)] for slug, c in watchlists.categories.items()}
    blob = json.dumps([MARKET_VERSION, taxonomy], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Market:
    """The figures a match run scores with; price cohorts are read as its snapshots need them."""

    watchlists: Watchlists
    cohorts: PriceCohorts
    display: CertificateDisplay
    keywords: dict[str, list[str]]
    loaded: set[Key]

    def fold(self, session: Session, items: Sequence[Seen]) -> int:
        return fold(session, items, self.watchlists, self.keywords)

    def load_cohorts(self, session: Session, views: Iterable[ListingView]) -> None:
        """Read the bins of the cohorts these listings fall in that this run has not read yet."""
        wanted = {key for key in (cohort_key(view, self.keywords) for view in views) if key} - self.loaded
        if not wanted:
            return
        histograms: dict[Key, dict[int, int]] = {}
        keys = sorted(wanted)
        bins = PriceCohortBin
        for start in range(0, len(keys), 300):
            # A join with the keys as a VALUES list: each key a search of the primary key (SQLite
            # scans the whole table for a row-value IN list).
            wanted_keys = values(column("brand", Text), column("category", Text), column("noun", Text),
                                 name="wanted").data(keys[start:start + 300]).cte("wanted")
            rows = session.execute(
                select(bins.brand, bins.category, bins.noun, bins.bin, bins.count)
                .join_from(wanted_keys, bins, and_(bins.brand == wanted_keys.c.brand,
                                                   bins.category == wanted_keys.c.category,
                                                   bins.noun == wanted_keys.c.noun))
                .where(bins.count > 0))
            for brand, category, noun, index, count in rows:
                histograms.setdefault((brand, category, noun), {})[index] = count
        self.cohorts.stats.update(PriceCohorts.from_histograms(histograms).stats)
        self.loaded |= wanted


@dataclass(frozen=True)
class Seen:
    """A snapshot to fold in: which one, of which listing, and what it showed."""

    snapshot_id: int
    listing_id: int
    view: ListingView


def _seen(rows: Sequence[Row]) -> list[Seen]:
    return [Seen(row.id, row.listing_id, ListingView(
        title=row.title, category=row.category, brand=row.brand, price=row.price, currency=row.currency,
        specs=row.specs or {}, marketplace=row.marketplace)) for row in rows]


def observation(seen: Seen, watchlists: Watchlists, keywords: dict[str, list[str]]) -> dict:
    view = seen.view
    key = cohort_key(view, keywords)
    category = watchlists.categories.get(view.category or "")
    price = comparable_price(view, category.price_unit if category else "piece") if key else None
    if not price:
        key = None
    return {"listing_id": seen.listing_id, "snapshot_id": seen.snapshot_id, "marketplace": view.marketplace,
            "cohort_brand": key[0] if key else None, "cohort_category": key[1] if key else None,
            "cohort_noun": key[2] if key else None, "price_bin": price_bin(price) if key else None,
            "certs_shown": shows_required(view, watchlists.categories)}


def _contribution(obs: dict, sign: int, bins: Counter, display: Counter) -> None:
    if obs["cohort_brand"] is not None:
        bins[(obs["cohort_brand"], obs["cohort_category"], obs["cohort_noun"], obs["price_bin"])] += sign
    if obs["certs_shown"] is not None and obs["marketplace"]:
        display[(obs["marketplace"], "shown")] += sign * bool(obs["certs_shown"])
        display[(obs["marketplace"], "needed")] += sign


def _held(session: Session, listing_ids: Iterable[int]) -> dict[int, dict]:
    table = MarketObservation.__table__
    return {obs["listing_id"]: dict(obs) for obs in session.execute(
        select(table).where(table.c.listing_id.in_(sorted(listing_ids)))).mappings()}


def fold(session: Session, items: Sequence[Seen], watchlists: Watchlists, keywords: dict[str, list[str]]) -> int:
    """Make these snapshots their listings' contribution where they are newer than the one
    held; returns how many listings changed. Changes are made under the fold lock, so two
    processes never both replace one listing's contribution."""
    newest: dict[int, Seen] = {}
    for item in items:
        if item.listing_id not in newest or newest[item.listing_id].snapshot_id < item.snapshot_id:
            newest[item.listing_id] = item
    held = _held(session, newest)
    if all(held.get(i) is not None and held[i]["snapshot_id"] >= item.snapshot_id for i, item in newest.items()):
        return 0  # nothing newer than what is held: no lock taken
    _lock(session)
    held = _held(session, newest)  # again, under the lock
    table = MarketObservation.__table__
    bins: Counter = Counter()
    display: Counter = Counter()
    inserts, updates = [], []
    for listing_id in sorted(newest):
        item = newest[listing_id]
        old = held.get(listing_id)
        if old is not None and old["snapshot_id"] >= item.snapshot_id:
            continue
        new = observation(item, watchlists, keywords)
        if old is not None:
            _contribution(old, -1, bins, display)
            updates.append(new)
        else:
            inserts.append(new)
        _contribution(new, +1, bins, display)
    if inserts:
        session.execute(table.insert(), inserts)
    if updates:
        session.execute(table.update().where(table.c.listing_id == bindparam("b_listing_id"))
                        .values({c: bindparam(f"b_{c}") for c in updates[0] if c != "listing_id"}),
                        [{f"b_{k}": v for k, v in u.items()} for u in updates])
    add_counts(session, PriceCohortBin, ("brand", "category", "noun", "bin"), ("count",),
               [{"brand": b, "category": c, "noun": n, "bin": i, "count": d}
                for (b, c, n, i), d in sorted(bins.items()) if d])
    per_marketplace: dict[str, dict[str, int]] = {}
    for (marketplace, what), delta in display.items():
        per_marketplace.setdefault(marketplace, {"shown": 0, "needed": 0})[what] += delta
    add_counts(session, CertificateDisplayCount, ("marketplace",), ("shown", "needed"),
               [{"marketplace": m, **d} for m, d in sorted(per_marketplace.items()) if any(d.values())])
    return len(inserts) + len(updates)


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def refresh(sessions: sessionmaker[Session], watchlists: Watchlists) -> Market:
    """Fold the snapshots not yet scored into the market figures (rebuilding them from every
    listing when the taxonomy changed) and return what the match run scores with."""
    keywords = {slug: c.keywords for slug, c in watchlists.categories.items()}
    wanted = categories_hash(watchlists)
    with session_scope(sessions) as session:
        _lock(session)
        state = session.get(MarketState, 1)
        if state is None or state.categories_hash != wanted:
            changed = _rebuild(session, watchlists, keywords)
            if state is None:
                session.add(MarketState(id=1, categories_hash=wanted, built_at=utcnow()))
            else:
                state.categories_hash, state.built_at = wanted, utcnow()
            log.info("market figures built from %d listings", changed)
    after = 0
    while True:  # one transaction per page: a long fold never holds the writer lock for long
        with session_scope(sessions) as session:
            rows = session.execute(
                select(*_COLUMNS).join(Listing, Listing.id == ListingSnapshot.listing_id)
                .where(ListingSnapshot.scored_at.is_(None), ListingSnapshot.id > after)
                .order_by(ListingSnapshot.id).limit(PAGE)).all()
            if not rows:
                break
            fold(session, _seen(rows), watchlists, keywords)
            after = rows[-1].id
    with session_scope(sessions) as session:
        display = CertificateDisplay({m: [shown, needed] for m, shown, needed in session.execute(
            select(CertificateDisplayCount.marketplace, CertificateDisplayCount.shown,
                   CertificateDisplayCount.needed))})
    return Market(watchlists, PriceCohorts(), display, keywords, set())


def _rebuild(session: Session, watchlists: Watchlists, keywords: dict[str, list[str]]) -> int:
    """Every listing's newest snapshot, again: in the caller's transaction, so a half-built
    set of figures is never seen."""
    for model in (MarketObservation, PriceCohortBin, CertificateDisplayCount):
        session.execute(delete(model))
    changed, after = 0, 0
    while True:  # a page of listings at a time, with their newest snapshots
        ids = session.execute(select(Listing.id).where(Listing.id > after).order_by(Listing.id).limit(PAGE)).scalars().all()
        if not ids:
            return changed
        rows = session.execute(select(*_COLUMNS).join(Listing, Listing.id == ListingSnapshot.listing_id)
                               .where(ListingSnapshot.listing_id.in_(ids),
                                      ListingSnapshot.content_hash == Listing.content_hash)).all()
        changed += fold(session, _seen(rows), watchlists, keywords)
        after = ids[-1]
