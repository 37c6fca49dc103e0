"""Past one machine: several matchers on one PostgreSQL database at once."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from decimal import Decimal

from sqlalchemy import func, select

from crawler.app.matching import match_new_snapshots
from crawler.items import ListingItem
from crawler.storage.db import open_database, session_factory
from crawler.storage.listings import ListingStore
from crawler.storage.models import (
    CertificateDisplayCount,
    ListingSnapshot,
    MarketObservation,
    PriceCohortBin,
    Suspect,
)
from tests.conftest import LIJIAN
from watchlists import load_watchlists

TITLES = ("美旳 电饭煲 正品", "美的 电饭煲 4L", "海尓 电热水器 60L", "海尔 电热水器 60L", "康帅傅 红烧牛肉面", "格力 空调 1.5匹")


def items(count: int) -> list[ListingItem]:
    out = []
    for n in range(count):
        title = TITLES[n % len(TITLES)]
        out.append(ListingItem(marketplace="sandbox-a", listing_key=str(n), url=f"http://127.0.0.1/a/item/{n}.html",
                               title=f"{title} {n}", price=Decimal(100 + n % 50), currency="CNY", category="appliance",
                               seller_key=f"S{n % 40}", seller_name=f"店铺{n % 40}", specs={},
                               brand=title.split()[0] if n % 2 else None))
    return out


def load(sessions, listings: list[ListingItem]) -> None:
    store = ListingStore(sessions)
    for item in listings:
        store.save(item, None)
    for item in listings[::7]:  # a second snapshot of every seventh listing: two matchers may race on one listing
        store.save(dataclasses.replace(item, price=item.price + 1), None)


def test_three_matchers_at_once_on_postgresql_score_every_snapshot_exactly_once(pg_url, tmp_path):
    listings = items(1800)
    pg = session_factory(open_database(pg_url))
    load(pg, listings)
    with pg() as session:
        snapshots = session.scalar(select(func.count()).select_from(ListingSnapshot))
    processes = [subprocess.Popen([*LIJIAN, "match", "--db", pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err[-2000:] for _, err in outputs]
    scored = [int(re.search(r"scored (\d+) snapshots", out).group(1)) for out, _ in outputs]
    assert sum(scored) == snapshots and sum(1 for n in scored if n) >= 2, scored  # shared, none twice
    # The same listings matched by one process on SQLite: the same suspects, on the newest snapshots.
    lite = session_factory(open_database(f"sqlite:///{tmp_path / 'one.db'}"))
    load(lite, listings)
    match_new_snapshots(lite, load_watchlists(None))

    def suspects(sessions):
        with sessions() as session:
            assert not session.scalar(select(func.count()).select_from(ListingSnapshot)
                                      .where(ListingSnapshot.scored_at.is_(None)))
            latest = dict(session.execute(select(ListingSnapshot.listing_id, func.max(ListingSnapshot.id))
                                          .group_by(ListingSnapshot.listing_id)).all())
            rows = session.execute(select(Suspect.listing_id, Suspect.snapshot_id, Suspect.score)).all()
            assert all(snapshot_id == latest[listing_id] for listing_id, snapshot_id, _ in rows)
            return sorted((listing_id, round(score, 3)) for listing_id, _, score in rows)

    found = suspects(pg)
    assert found and found == suspects(lite)

    def figures(sessions):  # three processes folded new snapshots in at once: nothing counted twice
        with sessions() as session:
            return (sorted(session.execute(select(PriceCohortBin.brand, PriceCohortBin.noun, PriceCohortBin.bin,
                                                  PriceCohortBin.count).where(PriceCohortBin.count != 0)).all()),
                    sorted(session.execute(select(CertificateDisplayCount.marketplace, CertificateDisplayCount.shown,
                                                  CertificateDisplayCount.needed)).all()),
                    session.scalar(select(func.count()).select_from(MarketObservation)))

    bins, display, observed = figures(pg)
    assert sum(count for *_, count in bins) > 100 and observed == len(listings)
    assert (bins, display, observed) == figures(lite)
