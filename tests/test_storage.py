from decimal import Decimal

from sqlalchemy import func, select

from crawler.items import ListingItem
from crawler.storage.db import StorageError, current_revision, head_revision, make_engine, open_database, upgrade
from crawler.storage.listings import ListingStore
from crawler.storage.models import Listing, ListingSnapshot, Seller

import pytest


def _item(**changes) -> ListingItem:
    base = dict(marketplace="sandbox-a", listing_key="10001", url="http://127.0.0.1/a/item/10001.html",
                title="美的 电饭煲 MB-1", price=Decimal("329.00"), currency="CNY", category="appliance",
                seller_key="S0001", seller_name="美的官方旗舰店", specs={"品牌": "美的"})
    return ListingItem(**{**base, **changes})


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_upgrade_creates_schema_and_is_safe_to_repeat(db_url):
    engine = make_engine(db_url)
    before, after = upgrade(engine)
    assert before is None and after == head_revision()
    assert upgrade(engine) == (after, after)
    assert current_revision(engine) == head_revision()


def test_same_listing_twice_is_one_listing_one_snapshot(sessions):
    store = ListingStore(sessions)
    first = store.save(_item(), crawl_run_id=None)
    second = store.save(_item(), crawl_run_id=None)
    assert (first.new_listing, first.new_snapshot) == (True, True)
    assert (second.new_listing, second.new_snapshot) == (False, False)
    assert first.listing_id == second.listing_id
    assert _count(sessions, Listing) == 1 and _count(sessions, ListingSnapshot) == 1 and _count(sessions, Seller) == 1


def test_changed_content_adds_a_snapshot_and_reverting_adds_another(sessions):
    store = ListingStore(sessions)
    store.save(_item(), None)
    assert store.save(_item(price=Decimal("99.00")), None).new_snapshot
    assert store.save(_item(), None).new_snapshot  # back to the first price is a new observation
    assert _count(sessions, ListingSnapshot) == 3 and _count(sessions, Listing) == 1


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(StorageError, match="cannot connect to database .*127.0.0.1.*Connection refused"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/nothing")


def test_unknown_database_scheme_is_a_clear_error():
    with pytest.raises(StorageError, match="cannot use database URL"):
        open_database("nosuchdb://x")


def test_password_never_shown_in_errors():
    with pytest.raises(StorageError) as info:
        open_database("postgresql+psycopg://user:s3cret@127.0.0.1:1/x")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_models_schema(backend, db_url, request):
    """Alembic's head and the SQLAlchemy models agree, column by column, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crawler.storage.models import Base

    url = db_url if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = open_database(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_killed_crawl_is_marked_interrupted_with_the_counts_it_stored(sandbox, db_url, tmp_path):
    """kill -9 of a crawl process: its run was 'running' forever with 0 listings; `lijian runs`
    now finds the process gone and records what it had stored."""
    import json
    import os
    import signal
    import subprocess
    import threading

    from sqlalchemy import func, select

    from crawler.storage.db import session_factory
    from crawler.storage.models import CrawlRun, ListingSnapshot
    from tests.conftest import LIJIAN, run_lijian

    sessions = session_factory(open_database(db_url))
    crawl = subprocess.Popen([*LIJIAN, "crawl", "--sandbox", sandbox.url, "--site", "a", "--db", db_url],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        stored = 0
        for _ in range(600):  # until the crawl has stored some snapshots (at most a minute)
            with sessions() as session:
                stored = session.scalar(select(func.count()).select_from(ListingSnapshot)) or 0
            if stored >= 5 or crawl.poll() is not None:
                break
            threading.Event().wait(0.1)
        assert crawl.poll() is None and stored >= 5, "the crawl ended before it could be killed"
        os.killpg(crawl.pid, signal.SIGKILL)
    finally:
        crawl.wait(timeout=30)
    with sessions() as session:
        (run,) = session.scalars(select(CrawlRun)).all()
        assert run.status == "running" and run.pid == crawl.pid  # what kill -9 leaves behind
    listed = run_lijian("runs", "--db", db_url)
    assert listed.returncode == 0 and "interrupted" in listed.stdout, listed.stdout + listed.stderr
    shown = json.loads(run_lijian("runs", "show", str(run.id), "--json", "--db", db_url).stdout)
    with sessions() as session:
        in_run = session.scalar(select(func.count()).select_from(ListingSnapshot)
                                .where(ListingSnapshot.crawl_run_id == run.id))
    assert shown["status"] == "interrupted" and shown["finished_at"] and "is gone" in shown["error_text"]
    assert shown["snapshots_new"] == in_run >= stored and shown["listings_new"] >= 1
    again = run_lijian("runs", "--db", db_url)  # idempotent: nothing left to mark
    assert again.returncode == 0 and again.stdout == listed.stdout


def test_a_batch_stores_the_same_rows_as_saving_one_by_one(sessions):
    """save_many (a batch in one transaction) against save (each listing alone), on the same
    items under two marketplace names: sellers named twice, a listing without a seller, a shop
    page between listings, a listing named twice in one batch, content that changes."""
    from datetime import datetime, timezone

    from crawler.items import SellerProfileItem

    def batches(market: str) -> list[list]:
        def listing(key, **changes):
            base = dict(marketplace=market, listing_key=key, url=f"http://127.0.0.1/{market}/{key}.html",
                        title=f"美的 电饭煲 {key}", price=Decimal("199.00"), currency="CNY", category="appliance",
                        brand="美的", seller_key="S1", seller_name="美的旗舰店", seller_province="广东",
                        seller_city="佛山")
            return ListingItem(**{**base, **changes})

        shop = SellerProfileItem(marketplace=market, seller_key="S2", name="小家电专营",
                                 url=f"http://127.0.0.1/{market}/s2", location="浙江 宁波", phone="13800000000")
        return [[listing("1"), listing("2", seller_key="S2", seller_name="旧名"), listing("3", seller_key=None,
                                                                                          seller_name=None),
                 shop, listing("4", seller_key="S2", seller_name="新名"), listing("5")],
                [listing("1"), SellerProfileItem(marketplace=market, seller_key="S9", name="九号店",
                                                 url=f"http://127.0.0.1/{market}/s9", location="广东", phone=None),
                 listing("2", price=Decimal("99.00"), seller_key="S2", seller_name="新名"),
                 listing("6", seller_key="S2", seller_name="最新名")],
                [listing("7"), listing("7", title="美的 电饭煲 7 改"), listing("1", title="美的 电饭煲 1 改"),
                 # a seller named by a listing, its shop page renaming it, then a listing naming it as
                 # before: the last word is the listing's (the batch must upsert the seller again)
                 listing("10", seller_key="S9", seller_name="九号店"),
                 SellerProfileItem(marketplace=market, seller_key="S9", name="九号店（新）",
                                   url=f"http://127.0.0.1/{market}/s9", location="广东", phone="13900000000"),
                 listing("11", seller_key="S9", seller_name="九号店")]]

    store = ListingStore(sessions)
    moments = [datetime(2026, 12, day, 8, tzinfo=timezone.utc) for day in (1, 2, 3)]
    one_by_one = [[store.save_seller_profile(item, now) if isinstance(item, SellerProfileItem)
                   else store.save(item, None, now) for item in batch] for batch, now in zip(batches("m1"), moments)]
    together = [store.save_many(batch, None, now) for batch, now in zip(batches("m2"), moments)]

    def shape(outcomes):  # ids differ between the two marketplaces; what they say must not
        return [o if isinstance(o, int) else (o.new_listing, o.new_snapshot) for o in outcomes]

    assert [[x for x in shape(o) if not isinstance(x, int)] for o in together] == [
        [x for x in shape(o) if not isinstance(x, int)] for o in one_by_one]
    assert [[type(x) for x in o] for o in together] == [[type(x) for x in o] for o in one_by_one]

    def state(market: str):
        with sessions() as session:
            sellers = session.execute(select(Seller.seller_key, Seller.name, Seller.shop_url, Seller.province,
                                             Seller.city, Seller.phone).where(Seller.marketplace == market)
                                      .order_by(Seller.seller_key)).all()
            listings = session.execute(
                select(Listing.listing_key, Listing.url.like(f"%/{market}/%"), Listing.category, Seller.seller_key,
                       Listing.content_hash, func.count(ListingSnapshot.id))
                .outerjoin(Seller, Seller.id == Listing.seller_id).join(ListingSnapshot)
                .where(Listing.marketplace == market).group_by(Listing.id, Seller.seller_key)
                .order_by(Listing.listing_key)).all()
            snapshots = session.execute(select(Listing.listing_key, ListingSnapshot.title, ListingSnapshot.price,
                                               ListingSnapshot.seller_name, ListingSnapshot.observed_at)
                                        .join(Listing).where(Listing.marketplace == market)
                                        .order_by(Listing.listing_key, ListingSnapshot.id)).all()
        return ([tuple(s)[:2] + (s.shop_url.replace(market, "m"),) + tuple(s)[3:] if s.shop_url else tuple(s)
                 for s in sellers], [tuple(r) for r in listings], [tuple(r) for r in snapshots])

    assert state("m2") == state("m1")
    sellers, listings, snapshots = state("m2")
    assert [s[:2] for s in sellers] == [("S1", "美的旗舰店"), ("S2", "最新名"), ("S9", "九号店")]  # later names win
    assert len(snapshots) == 12 and [r[5] for r in listings] == [2, 1, 1, 2, 1, 1, 1, 1, 2]
