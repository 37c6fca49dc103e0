"""Market figures kept one snapshot at a time (crawler/app/market.py): the price cohorts and
certificate habits a match run reads must be what building them from every listing gives."""

import dataclasses
import random
import statistics
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crawler.app.market import refresh
from crawler.app.matching import match_new_snapshots
from crawler.items import ListingItem
from crawler.storage.listings import ListingStore
from crawler.storage.models import (
    CertificateDisplayCount,
    Listing,
    ListingSnapshot,
    MarketObservation,
    PriceCohortBin,
    Suspect,
)
from matchers import ListingView
from matchers.certs import CertificateDisplay
from matchers.prices import PriceCohorts, histogram_stats, price_bin
from watchlists import load_watchlists

WATCHLISTS = load_watchlists()
GOOD_CCC = {"3C证书编号": "2018010707123456"}


def item(key: str, title: str, price: str, marketplace: str = "sandbox-a", specs: dict | None = None) -> ListingItem:
    return ListingItem(marketplace=marketplace, listing_key=key, url=f"http://127.0.0.1/a/item/{key}.html",
                       title=title, price=Decimal(price), currency="CNY", category="appliance", brand="公牛",
                       seller_key=f"S{key}", seller_name=f"店{key}",
                       specs=GOOD_CCC if specs is None else specs)


@pytest.mark.parametrize("seed", range(5))
def test_cohort_figures_from_bins_are_those_of_the_prices(seed):
    rng = random.Random(seed)
    prices = [round(rng.lognormvariate(4, 0.3), 2) for _ in range(rng.randint(5, 400))]
    median, mad, size = histogram_stats(dict(_counts(price_bin(p) for p in prices)))
    assert size == len(prices)
    assert median == pytest.approx(statistics.median(prices), rel=5e-3)
    exact_mad = statistics.median(abs(p - statistics.median(prices)) for p in prices)
    assert mad == pytest.approx(exact_mad, abs=1.5e-2 * median)  # within half a bin of each price and of the median


def _counts(values):
    out: dict[int, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out.items()


def newest_views(sessions) -> list[ListingView]:
    """The old way: every listing's newest snapshot, read whole."""
    with sessions() as session:
        rows = session.execute(select(ListingSnapshot, Listing.category, Listing.marketplace).join(Listing)
                               .where(Listing.content_hash == ListingSnapshot.content_hash)).all()
        return [ListingView(title=s.title, category=c, brand=s.brand, price=s.price, currency=s.currency,
                            specs=s.specs or {}, marketplace=m) for s, c, m in rows]


def assert_figures_are_the_whole_tables(sessions):
    views = newest_views(sessions)
    whole = PriceCohorts.build([v for v in views if v.price is not None], WATCHLISTS.categories)
    market = refresh(sessions, WATCHLISTS)
    with sessions() as session:
        market.load_cohorts(session, views)
    assert market.cohorts.stats.keys() == whole.stats.keys()
    for key, (median, mad, size) in whole.stats.items():
        got = market.cohorts.stats[key]
        assert got[2] == size and got[0] == pytest.approx(median, rel=5e-3)
        assert got[1] == pytest.approx(mad, abs=1.5e-2 * median)
    assert market.display.shown == CertificateDisplay.build(views, WATCHLISTS.categories).shown


def test_figures_follow_new_snapshots_without_counting_a_listing_twice(sessions):
    store = ListingStore(sessions)
    for i, price in enumerate([55, 59, 62, 58, 61, 57, 60]):
        store.save(item(str(i), f"公牛 插座 五孔 GN-{i}", str(price), specs=GOOD_CCC if i % 2 else {}), None)
    match_new_snapshots(sessions, WATCHLISTS)
    assert_figures_are_the_whole_tables(sessions)

    # Listings seen again with new prices replace their own contribution; an unchanged one adds nothing.
    store.save(item("3", "公牛 插座 五孔 GN-3", "12"), None)
    store.save(item("4", "公牛 插座 五孔 GN-4", "63"), None)
    store.save(item("5", "公牛 插座 五孔 GN-5", "57"), None)
    summary = match_new_snapshots(sessions, WATCHLISTS)
    assert summary.scored == 2
    assert_figures_are_the_whole_tables(sessions)
    with sessions() as session:
        assert session.scalar(select(func.sum(PriceCohortBin.count))) == 7
        assert session.scalar(select(func.count()).select_from(MarketObservation)) == 7
        suspect = session.scalars(select(Suspect)).one()  # the listing now priced at ¥12
        assert suspect.listing.listing_key == "3"
        assert "price_outlier" in {s.name for s in suspect.signals}

    # Nothing new: the figures stay as they are.
    match_new_snapshots(sessions, WATCHLISTS)
    with sessions() as session:
        assert session.scalar(select(func.sum(PriceCohortBin.count))) == 7
        display = session.get(CertificateDisplayCount, "sandbox-a")
        assert (display.shown, display.needed) == (4, 7)  # GN-3 and GN-5 now show their numbers


def test_a_new_taxonomy_builds_the_figures_again_from_every_listing(sessions):
    store = ListingStore(sessions)
    for i, price in enumerate([55, 59, 62, 58, 61]):
        store.save(item(str(i), f"公牛 插座 GN-{i}", str(price)), None)
    match_new_snapshots(sessions, WATCHLISTS)
    assert_figures_are_the_whole_tables(sessions)

    appliance = WATCHLISTS.categories["appliance"].model_copy(update={"keywords": ["插座排"]})
    changed = dataclasses.replace(WATCHLISTS, categories={**WATCHLISTS.categories, "appliance": appliance})
    market = refresh(sessions, changed)  # no new snapshots, but "插座" is no longer a product noun
    with sessions() as session:
        market.load_cohorts(session, newest_views(sessions))
        assert market.cohorts.stats == {}
        assert session.scalar(select(func.count()).select_from(PriceCohortBin)) == 0
    refresh(sessions, WATCHLISTS)
    assert_figures_are_the_whole_tables(sessions)


def test_an_existing_database_gets_its_figures_on_the_first_match_run(sessions):
    """Listings stored before the figures existed (an upgraded database) count from the first run."""
    store = ListingStore(sessions)
    for i, price in enumerate([55, 59, 62, 58, 61, 12]):
        store.save(item(str(i), f"公牛 插座 GN-{i}", str(price)), None)
    with sessions.begin() as session:  # scored already, by a version that kept no figures
        session.execute(ListingSnapshot.__table__.update().values(scored_at=func.now()))
    store.save(item("6", "公牛 插座 GN-6", "11"), None)
    summary = match_new_snapshots(sessions, WATCHLISTS)
    assert summary.scored == 1 and summary.by_signal.get("price_outlier") == 1
    assert_figures_are_the_whole_tables(sessions)
