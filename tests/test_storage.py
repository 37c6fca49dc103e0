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
