"""Score snapshots that have not been scored yet and keep one `Suspect` per flagged listing.

Idempotent: a snapshot is scored once (`scored_at`); re-running finds nothing new. A listing
seen again with changed content updates its suspect in place; one whose new content no longer
flags loses an untriaged suspect (triaged ones are the analysts' to close).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.app.market import Market, Seen, refresh
from crawler.app.triage import reopen_if_changed
from crawler.storage.db import session_scope
from crawler.storage.models import Listing, ListingSnapshot, Seller, Suspect, SuspectSignal, utcnow
from crawler.storage.upsert import insert_ignore_many
from matchers import ListingView, MatchResult, build_matchers, score_listing
from matchers.sellers import SellerNetworks
from watchlists import Watchlists

BATCH = 500

log = logging.getLogger(__name__)


@dataclass
class MatchSummary:
    scored: int = 0
    flagged: int = 0
    cleared: int = 0
    by_signal: dict[str, int] = field(default_factory=dict)


def view_of(snapshot: ListingSnapshot, category: str | None, phone: str | None = None,
            marketplace: str | None = None) -> ListingView:
    return ListingView(title=snapshot.title, category=category, brand=snapshot.brand, price=snapshot.price,
                       currency=snapshot.currency, seller_name=snapshot.seller_name, specs=snapshot.specs or {},
                       seller_contact=phone, marketplace=marketplace)


def seller_networks(sessions: sessionmaker[Session]) -> SellerNetworks:
    with session_scope(sessions) as session:
        rows = session.execute(select(Seller.marketplace, Seller.name, Seller.phone).where(Seller.phone.is_not(None))).all()
    return SellerNetworks([tuple(r) for r in rows])


def _record(session: Session, decided: dict[int, tuple[ListingSnapshot, MatchResult]], now: datetime) -> None:
    """Keep one suspect per flagged listing (listing id -> its deciding snapshot and result), a
    few statements for the whole batch: insert-if-absent (native ON CONFLICT), then lock the
    rows in listing order, so two matchers scoring snapshots of one listing at once never
    create two suspects or lose an update."""
    if not decided:
        return
    insert_ignore_many(session, Suspect, [{
        "listing_id": listing_id, "snapshot_id": snapshot.id, "score": result.score,
        "algorithm": result.algorithm, "watchlist_hash": result.watchlist_hash, "status": "new",
        "first_flagged_at": now, "last_flagged_at": now} for listing_id, (snapshot, result) in sorted(decided.items())],
        ("listing_id",))
    suspects = session.scalars(select(Suspect).where(Suspect.listing_id.in_(sorted(decided)))
                               .order_by(Suspect.listing_id).with_for_update()).all()
    recorded: list[tuple[Suspect, MatchResult]] = []
    for suspect in suspects:
        snapshot, result = decided[suspect.listing_id]
        if suspect.snapshot_id > snapshot.id:
            continue  # another matcher already recorded a newer snapshot of this listing
        reopen_if_changed(session, suspect, snapshot.id)  # a dismissed listing whose content changed
        suspect.snapshot_id = snapshot.id
        suspect.score = result.score
        suspect.brand = result.brand
        suspect.lookalike_of = result.lookalike_of
        suspect.algorithm = result.algorithm
        suspect.watchlist_hash = result.watchlist_hash
        suspect.last_flagged_at = now
        recorded.append((suspect, result))
    if not recorded:
        return
    session.flush()
    # The reasons are replaced whole (never loaded: the old ones are only deleted).
    session.execute(delete(SuspectSignal).where(SuspectSignal.suspect_id.in_([s.id for s, _ in recorded]))
                    .execution_options(synchronize_session=False))
    session.execute(insert(SuspectSignal), [
        {"suspect_id": suspect.id, "name": s.name, "weight": s.weight, "detail": s.detail,
         "listing_value": s.listing_value, "watchlist_value": s.watchlist_value, "role": s.role}
        for suspect, result in recorded for s in result.signals])


def mark_latest_unscored(sessions: sessionmaker[Session]) -> None:
    """Queue every listing's newest snapshot for scoring again (after a watchlist or matcher change)."""
    latest = select(Listing.id).where(Listing.content_hash == ListingSnapshot.content_hash,
                                      Listing.id == ListingSnapshot.listing_id).exists()
    with session_scope(sessions) as session:
        session.execute(update(ListingSnapshot).where(latest).values(scored_at=None))


def match_new_snapshots(sessions: sessionmaker[Session], watchlists: Watchlists, rescore: bool = False) -> MatchSummary:
    if rescore:
        mark_latest_unscored(sessions)
    from matchers import memo

    # Price cohorts and certificate habits with the new snapshots folded in (crawler/app/market.py).
    market = refresh(sessions, watchlists)
    matchers = build_matchers(watchlists, market.cohorts, seller_networks(sessions), market.display)
    memo.restore()  # what earlier runs worked out about characters (matchers/memo.py)
    try:
        return _score_all(sessions, matchers, watchlists, market)
    finally:
        memo.save()


def _score_all(sessions: sessionmaker[Session], matchers, watchlists: Watchlists, market: Market) -> MatchSummary:
    summary = MatchSummary()
    conflicts = 0
    while True:
        try:
            batch = _score_batch(sessions, matchers, watchlists, market)
        except OperationalError as exc:
            # Two matchers can still meet on one listing's suspect row (a newer snapshot in
            # another batch); PostgreSQL then aborts one transaction. Nothing of the batch was
            # written: claim again (bounded, so a persistent fault still surfaces).
            if _sqlstate(exc) not in RETRYABLE or conflicts >= MAX_CONFLICTS:
                raise
            conflicts += 1
            log.warning("matching batch rolled back (%s), claiming again (%d/%d)",
                        _sqlstate(exc), conflicts, MAX_CONFLICTS)
            continue
        if batch is None:
            return summary
        summary.scored += batch.scored
        summary.flagged += batch.flagged
        summary.cleared += batch.cleared
        for name, count in batch.by_signal.items():
            summary.by_signal[name] = summary.by_signal.get(name, 0) + count


RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure
MAX_CONFLICTS = 20


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _score_batch(sessions: sessionmaker[Session], matchers, watchlists: Watchlists,
                 market: Market) -> MatchSummary | None:
    """Claim up to BATCH unscored snapshots, score them and commit; None when none are left."""
    batch = MatchSummary()
    with session_scope(sessions) as session:
        rows = session.execute(
            select(ListingSnapshot, Listing.category, Seller.phone, Listing.marketplace).select_from(ListingSnapshot)
            .join(Listing, Listing.id == ListingSnapshot.listing_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id)
            .where(ListingSnapshot.scored_at.is_(None)).order_by(ListingSnapshot.id).limit(BATCH)
            # PostgreSQL: each matcher claims a batch of rows the others skip, so several
            # can run at once without scoring anything twice (SQLite has one writer anyway).
            .with_for_update(of=ListingSnapshot, skip_locked=True)
        ).all()
        if not rows:
            return None
        now = utcnow()
        # The batch's listings are locked in listing order in every matcher (then their suspect
        # rows), so two batches that share listings wait for each other instead of deadlocking;
        # once a listing is held, a newer snapshot another matcher already scored is visible,
        # and an older one's verdict is stale: it neither recreates a suspect the newer one
        # cleared nor clears one the newer one flagged.
        listing_ids = sorted({snapshot.listing_id for snapshot, *_ in rows})
        session.execute(select(Listing.id).where(Listing.id.in_(listing_ids)).order_by(Listing.id).with_for_update())
        newest_scored = dict(session.execute(
            select(ListingSnapshot.listing_id, func.max(ListingSnapshot.id))
            .where(ListingSnapshot.listing_id.in_(listing_ids), ListingSnapshot.scored_at.is_not(None))
            .group_by(ListingSnapshot.listing_id)).all())
        views = [(snapshot, view_of(snapshot, category, phone, marketplace))
                 for snapshot, category, phone, marketplace in sorted(rows, key=lambda r: (r[0].listing_id, r[0].id))]
        # Snapshots stored since this run folded the new ones in join the market figures now.
        market.fold(session, [Seen(snapshot.id, snapshot.listing_id, view) for snapshot, view in views])
        market.load_cohorts(session, [view for _, view in views])
        decided: dict[int, tuple[ListingSnapshot, MatchResult]] = {}  # listing -> its newest flagged verdict
        cleared: set[int] = set()  # listings whose newest snapshot here does not flag
        for snapshot, view in views:  # in listing order, oldest snapshot first
            result = score_listing(view, matchers, watchlists.content_hash)
            batch.scored += 1
            if newest_scored.get(snapshot.listing_id, 0) > snapshot.id:
                continue  # a newer snapshot of this listing decided already
            if result.flagged:
                batch.flagged += 1
                for signal in result.signals:
                    batch.by_signal[signal.name] = batch.by_signal.get(signal.name, 0) + 1
                decided[snapshot.listing_id] = (snapshot, result)
                cleared.discard(snapshot.listing_id)
            else:
                cleared.add(snapshot.listing_id)
                decided.pop(snapshot.listing_id, None)
        # Set-based writes: a statement per kind of change, not per snapshot.
        session.execute(update(ListingSnapshot).where(ListingSnapshot.id.in_([snapshot.id for snapshot, _ in views]))
                        .values(scored_at=now).execution_options(synchronize_session=False))
        if cleared:
            gone = session.execute(delete(Suspect).where(Suspect.listing_id.in_(sorted(cleared)),
                                                         Suspect.status == "new")
                                   .execution_options(synchronize_session=False))
            batch.cleared += gone.rowcount or 0
        _record(session, decided, now)
    return batch
