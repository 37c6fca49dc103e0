"""Match runs against a real database, and the digest an analyst opens."""

import csv
import io
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from crawler.reports.digest import write_digest
from crawler.items import ListingItem
from crawler.app.matching import match_new_snapshots
from crawler.storage.listings import ListingStore
from crawler.storage.models import Suspect, SuspectSignal
from watchlists import load_watchlists

WATCHLISTS = load_watchlists()
HOSTILE = "美旳 电饭煲 <script>alert('x')</script><img src=x onerror=alert(1)>"


def item(key: str, title: str, brand: str, **changes) -> ListingItem:
    base = dict(marketplace="sandbox-a", listing_key=key, url=f"http://127.0.0.1/a/item/{key}.html", title=title,
                price=Decimal("199.00"), currency="CNY", category="appliance", brand=brand, seller_key="S1",
                seller_name="=HYPERLINK(\"http://evil\")", seller_province="广东", seller_city="佛山",
                specs={"品牌": brand, "3C证书编号": "2018010707123456"})
    return ListingItem(**{**base, **changes})


def test_match_is_idempotent_and_updates_a_suspect_in_place(sessions):
    store = ListingStore(sessions)
    store.save(item("1", "美旳 电饭煲", "美旳"), None)
    store.save(item("2", "美的 电饭煲", "美的"), None)
    first = match_new_snapshots(sessions, WATCHLISTS)
    assert (first.scored, first.flagged) == (2, 1)
    assert match_new_snapshots(sessions, WATCHLISTS).scored == 0

    store.save(item("1", "美旳 电饭煲 高仿", "美旳"), None)  # seen again, changed
    again = match_new_snapshots(sessions, WATCHLISTS)
    assert (again.scored, again.flagged) == (1, 1)
    with sessions() as session:
        suspects = session.scalars(select(Suspect)).all()
        assert len(suspects) == 1
        assert {s.name for s in suspects[0].signals} == {"brand_lookalike", "risk_term"}

    store.save(item("1", "美的 电饭煲", "美的"), None)  # the seller fixed the listing
    cleared = match_new_snapshots(sessions, WATCHLISTS)
    assert cleared.cleared == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Suspect)) == 0
        assert session.scalar(select(func.count()).select_from(SuspectSignal)) == 0


def test_rescore_scores_latest_snapshots_again(sessions):
    ListingStore(sessions).save(item("1", "美旳 电饭煲", "美旳"), None)
    match_new_snapshots(sessions, WATCHLISTS)
    assert match_new_snapshots(sessions, WATCHLISTS, rescore=True).scored == 1


def test_digest_escapes_listing_text_and_neutralises_spreadsheet_formulas(sessions, tmp_path: Path):
    ListingStore(sessions).save(item("1", HOSTILE, "美旳"), None)
    match_new_snapshots(sessions, WATCHLISTS)
    files = write_digest(sessions, WATCHLISTS, tmp_path)
    html = files.html.read_text(encoding="utf-8")
    assert files.rows == 1
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "可疑商品日报" in html and "疑似仿冒品牌" in html and "美的" in html

    raw = files.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so Excel/WPS read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["店铺"].startswith("'=HYPERLINK")
    assert rows[0]["疑似仿冒"] == "美的" and rows[0]["商品标题"] == HOSTILE


def test_digest_with_no_suspects_says_so(sessions, tmp_path: Path):
    files = write_digest(sessions, WATCHLISTS, tmp_path)
    assert files.rows == 0 and "今日无可疑商品" in files.html.read_text(encoding="utf-8")


def test_non_web_urls_are_not_linked(sessions, tmp_path: Path):
    ListingStore(sessions).save(item("1", "美旳 电饭煲", "美旳", url="javascript:alert(1)"), None)
    match_new_snapshots(sessions, WATCHLISTS)
    html = write_digest(sessions, WATCHLISTS, tmp_path).html.read_text(encoding="utf-8")
    assert "javascript:" not in html


def test_seller_network_from_shop_contacts(sessions):
    from crawler.items import SellerProfileItem

    store = ListingStore(sessions)
    store.save(item("1", "美的 电饭煲", "美的", seller_key="S1", seller_name="甲店"), None)
    store.save(item("2", "美的 电水壶", "美的", seller_key="S2", seller_name="乙店"), None)
    store.save(item("3", "美的 插座", "美的", seller_key="S3", seller_name="丙店"), None)
    for key, name, phone in (("S1", "甲店", "13900000001"), ("S2", "乙店", "13900000001"), ("S3", "丙店", "13900000003")):
        store.save_seller_profile(SellerProfileItem("sandbox-a", key, f"http://127.0.0.1/a/shop/{key}", name, phone,
                                                    "广东 佛山"))
    match_new_snapshots(sessions, WATCHLISTS)
    with sessions() as session:
        signals = session.scalars(select(SuspectSignal).where(SuspectSignal.name == "seller_network")).all()
    # Alone (0.35) a network does not flag; recorded only beside other reasons. Here: none flagged.
    assert signals == []
    from crawler.app.matching import seller_networks
    from matchers.sellers import SellerNetworkMatcher
    from matchers import ListingView

    matcher = SellerNetworkMatcher(seller_networks(sessions))
    shared = matcher.signals(ListingView(title="x", seller_name="甲店", seller_contact="13900000001"))
    assert [s.name for s in shared] == ["seller_network"] and "乙店" in shared[0].detail
    assert matcher.signals(ListingView(title="x", seller_name="丙店", seller_contact="13900000003")) == []


def test_an_older_snapshot_scored_after_a_newer_one_changes_nothing(tmp_path):
    """Matchers running at once may score a listing's snapshots out of order: the older one's
    verdict must neither recreate a suspect the newer one cleared, nor clear one it flagged."""
    import dataclasses
    from decimal import Decimal

    from sqlalchemy import func, select, update

    from crawler.items import ListingItem
    from crawler.app.matching import match_new_snapshots
    from crawler.storage.db import open_database, session_factory
    from crawler.storage.listings import ListingStore
    from crawler.storage.models import ListingSnapshot, Suspect
    from watchlists import load_watchlists

    lists = load_watchlists(None)
    for older_title, newer_title, flagged in (("美旳 电饭煲 高仿", "美的 电饭煲 4L", False),
                                              ("美的 电饭煲 4L", "美旳 电饭煲 高仿", True)):
        sessions = session_factory(open_database(f"sqlite:///{tmp_path / f'race-{flagged}.db'}"))
        item = ListingItem(marketplace="sandbox-a", listing_key="1", url="http://127.0.0.1/a/item/1.html",
                           title=older_title, price=Decimal(299), currency="CNY", category="appliance",
                           seller_key="S1", seller_name="店铺1", specs={})
        store = ListingStore(sessions)
        store.save(item, None)
        store.save(dataclasses.replace(item, title=newer_title), None)
        with sessions.begin() as session:  # the newer snapshot was scored first, by another matcher
            older, newer = session.scalars(select(ListingSnapshot).order_by(ListingSnapshot.id)).all()
            session.execute(update(ListingSnapshot).where(ListingSnapshot.id == older.id).values(scored_at=None))
            session.execute(update(ListingSnapshot).where(ListingSnapshot.id == newer.id)
                            .values(scored_at=func.now()))
            if flagged:
                session.add(Suspect(listing_id=newer.listing_id, snapshot_id=newer.id, score=0.9, algorithm="x",
                                    watchlist_hash="x", status="new"))
        match_new_snapshots(sessions, lists)
        with sessions() as session:
            suspects = session.scalars(select(Suspect)).all()
        assert [s.snapshot_id for s in suspects] == ([newer.id] if flagged else [])
